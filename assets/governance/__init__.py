"""Governance (治理): standardize delivered text, type it, check the catalog's hard rules, deduplicate
and quarantine — domain logic only; the Dagster assets live beside it."""
