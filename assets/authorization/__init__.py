"""The authorized operation (授权运营, 第十三条–第二十一条): the operating unit's authorization, merchants and
their development agreements, data-use applications on the working-day clock, and the grants approvals
become. Domain logic only; enforcement in the databases lives in ``assets/workspace``."""
