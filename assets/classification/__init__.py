"""Classification & grading (分类分级, GB/T 43697-2024) and the personal-data detectors.

Plain domain logic (no Dagster): ``detectors`` (what a column holds), ``scheme`` (the scheme in
``scheme.yaml``), ``classify`` (declaration against detection, category, level and grade per column).
"""
