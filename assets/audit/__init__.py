"""The platform audit log: who did what, when and why (第二十七条 全流程可追溯)."""
