"""The shared text helpers every stage relies on: display masks count characters, not bytes, and keep
missing values missing; the identifier validators agree with the scalar check characters on any
kind of text column."""

from __future__ import annotations

import pandas as pd
import pytest

from assets.common.check_chars import id_check_char, luhn_check_digit, uscc_check_char
from assets.common.identifiers import id_number_valid, luhn_valid, mobile_valid, uscc_valid
from assets.common.masking import mask_series


def test_masks_keep_characters_not_bytes_and_leave_missing_values_missing() -> None:
    """Display masks count characters (Han characters are three UTF-8 bytes): the kept ends are
    whole characters, the stars stand for the hidden ones, a value too short for both ends is all
    stars, and a missing value stays missing, whatever the column's dtype."""
    values = ["欧阳娜娜", "宁夏中卫市沙坡头区文昌镇", "13812345678", "张", "", None]
    for dtype in (object, "string", "string[pyarrow]"):
        s = pd.Series(values, dtype=dtype, index=[7, 3, 9, 1, 4, 2])
        assert mask_series(s, "person_name").tolist()[:5] == [
            "欧***",
            "宁" + "*" * 11,
            "1**********",
            "*",
            "",
        ]
        address = mask_series(s, "address")
        assert address.loc[3] == "宁夏中卫市沙******"
        assert address.loc[7] == "****"  # four characters: too short to keep six
        assert mask_series(s, "cn_mobile_phone").loc[9] == "138****5678"
        assert list(mask_series(s, "cn_mobile_phone").index) == [7, 3, 9, 1, 4, 2]
        assert pd.isna(mask_series(s, "cn_id_number").loc[2])
    assert mask_series(pd.Series([12345678901, None], dtype=object), "cn_mobile_phone").iloc[0] == (
        "123****8901"
    )


@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]"])
def test_validators_agree_with_the_check_characters_on_any_text(dtype) -> None:
    """The vectorized validators read the characters off Arrow's buffers: their verdicts are the
    scalar check characters', on a slice of a column (an Arrow array at an offset), beside values
    of other widths, full-width digits, a trailing newline and gaps."""
    body = "64050219900101001"
    uscc_body = "91640502MA7B2C3D4"
    card_body = "622202123456789012"
    values = [
        "noise",
        body + id_check_char(body),
        body + ("0" if id_check_char(body) != "0" else "1"),
        "64050219900230001" + id_check_char("64050219900230001"),  # 30 February
        "６４０５０２１９９００１０１００１" + id_check_char(body),
        body + id_check_char(body) + "\n",
        None,
        uscc_body + uscc_check_char(uscc_body),
        uscc_body + ("0" if uscc_check_char(uscc_body) != "0" else "1"),
        card_body + luhn_check_digit(card_body),
        card_body + str((int(luhn_check_digit(card_body)) + 1) % 10),
        "13812345678",
    ]
    column = pd.Series(values, dtype=dtype)
    part = column.iloc[1:]  # at an offset into the column's buffers
    assert id_number_valid(part).tolist() == [True, False, False, False, False] + [False] * 6
    assert uscc_valid(part).tolist()[6:8] == [True, False]
    assert luhn_valid(part).tolist()[8:10] == [True, False]
    assert mobile_valid(part).tolist()[-1]
    assert list(id_number_valid(part).index) == list(range(1, len(values)))
