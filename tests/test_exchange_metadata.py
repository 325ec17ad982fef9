"""Metadata shown in the Dagster UI never carries a raw identifier, declared or not."""

import re

from assets.exchange.metadata import column_schema, masked_preview
from tests.helpers import slice_frame


def test_preview_masks_declared_and_undeclared_identifiers(catalog):
    entry = catalog["medical_institutions"]  # its 联系电话 is not declared personal data
    frame = slice_frame(entry, "640502", "2026-Q3", 3)
    frame["phone"] = ["13812345678", "0955-7012345", "联系人手机 15900001111"]
    frame["uscc"] = "12640500MB1234567X"
    text = masked_preview(frame, entry).value
    assert not re.search(r"[0-9]{10,}", text)
    assert "0955-7012345" in text  # an institution's landline is public and stays


def test_preview_masks_declared_personal_columns(catalog):
    entry = catalog["household_registration"]
    frame = slice_frame(entry, "640521", "2026-10", 2)
    frame["id_number"] = "64052119850312001X"
    frame["name"] = "张三丰"
    text = masked_preview(frame, entry).value
    assert "64052119850312001X" not in text and "张三丰" not in text
    assert "张**" in text


def test_column_schema_tags_personal_data(catalog):
    entry = catalog["household_registration"]
    columns = {c.name: c for c in column_schema(entry).columns}
    assert columns["id_number"].tags["pii"] == "cn_id_number"
    assert columns["id_number"].description.startswith("公民身份号码")
    assert "provenance" in columns["source_row"].tags
