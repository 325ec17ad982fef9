"""Data products, fees and income (第十四条, 第二十四条, 第二十五条): the product register with its cost
items and cost-plus prices (``register.py``, ``fees.py``), and the income each release of a commercial
product brings, distributed into the income ledger (``ledger.py``)."""
