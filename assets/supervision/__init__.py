"""Supervision reports (第三十一条, 第三十二条, 第三十三条): the bureau's notice on each source department,
the operator's periodic report with its public disclosure page, and the annual evaluation data set —
monthly and yearly, as HTML and XLSX, counts only (no personal data), each carrying the audit head."""
