"""Security incidents and risk assessments (第二十七条, 第二十九条): the incident register, whose severe
incidents suspend supply at once, and the risk assessments of datasets and products."""
