"""Accounts, roles and permissions (第五条): who may do what, and in which scope.

``authorize.require`` is the one gate every state-changing action passes through.
"""
