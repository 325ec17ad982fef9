"""The pseudonymization key (``pseudonymize.py``): read from the environment's value or a key file and
refused when it is missing or weak — before a run reads anything (``publicdata run``), without loading
what pseudonymizes (numpy, pandas, Arrow)."""

from __future__ import annotations

from pathlib import Path

MIN_KEY_BYTES = 16
# a key of 16+ bytes made of a few repeated characters ("0000…", "abababab…") is guessable
MIN_DISTINCT_KEY_BYTES = 8


class PseudonymKeyError(ValueError):
    """The pseudonymization key is missing or too weak. The message never contains the key."""


def load_key(env_value: str | None, key_file: Path | str | None) -> bytes:
    """The pseudonymization key from an environment variable's value or, failing that, a key file.

    The environment value is taken as UTF-8 bytes; a key file as its raw bytes with one trailing newline
    removed. Keys shorter than 16 bytes (128 bits) are refused.
    """
    if env_value:
        key, source = env_value.encode("utf-8"), "环境变量"
    elif key_file:
        path = Path(key_file)
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise PseudonymKeyError(f"无法读取假名化密钥文件 {path}: {exc.strerror}") from exc
        key, source = key.removesuffix(b"\n").removesuffix(b"\r"), f"密钥文件 {path}"
    else:
        raise PseudonymKeyError("未配置假名化密钥：请通过环境变量或密钥文件提供至少16字节的密钥")
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"{source}中的假名化密钥只有 {len(key)} 字节，至少需要 {MIN_KEY_BYTES} 字节"
        )
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        raise PseudonymKeyError(
            f"{source}中的假名化密钥只由 {len(set(key))} 种字节重复组成，容易被猜出："
            f"请使用随机生成的密钥（至少 {MIN_DISTINCT_KEY_BYTES} 种不同字节）"
        )
    return key
