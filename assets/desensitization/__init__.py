"""Desensitization (脱敏) for the operation platform: masking, keyed HMAC-SM3 pseudonymization,
generalization and k-anonymity, by the grade policy in ``policy.yaml`` — domain logic only."""
