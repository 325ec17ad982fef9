"""The public data operation platform (公共数据运营平台): the zone writer that accepts only desensitized
frames and replaces a dataset's table atomically, the guards (leak scan, 禁止开放, supply suspension),
the suspension store, the audit log and the platform records of governance and classification. Domain
logic only; the Dagster assets live in ``assets.py``."""
