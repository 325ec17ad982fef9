"""The merchants' workspace on the operation platform (第四条 可用不可见): the grants of
``assets/authorization`` enforced by the database itself.

- PostgreSQL: a login role per merchant, per grant a schema holding a view of only the granted items,
  ``SELECT`` on those views and nothing else (``postgres.py``, ``privileges.py``).
- SQLite (embedded default): a read-only connection whose authorizer denies every table and column
  outside the merchant's grants (``sqlite.py``).
- ``reconcile.py`` brings the database's objects to the live grants (a Dagster asset runs it daily and
  after each publish); ``credentials.py`` issues a merchant's connection string once.
"""
