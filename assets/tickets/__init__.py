"""Quality tickets to source departments (第十一条): the pure lifecycle rules (``rules``), the store in
the platform records (``store``), intake from findings and file rejections, notices and department
reports. Every stage that opens tickets imports this package; it imports no stage."""
