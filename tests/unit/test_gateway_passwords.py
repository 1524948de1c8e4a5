"""Password hashes: argon2id at the chosen cost; older hashes still verify and are re-made."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters
from argon2.low_level import Type

from services.gateway import domain


def test_new_hashes_use_the_chosen_argon2id_parameters() -> None:
    encoded = domain.hash_password("correct horse battery")
    chosen = extract_parameters(encoded)

    assert chosen.type is Type.ID
    assert (chosen.time_cost, chosen.memory_cost, chosen.parallelism) == (2, 19_456, 1)
    assert domain.verify_password(encoded, "correct horse battery")
    assert not domain.verify_password(encoded, "wrong horse battery")
    assert not domain.password_needs_rehash(encoded)


def test_a_hash_made_with_the_old_default_still_verifies_and_is_re_made() -> None:
    old = PasswordHasher().hash("shift-change-2026")  # argon2-cffi's default: 64 MiB, t=3, p=4

    assert domain.verify_password(old, "shift-change-2026")
    assert domain.password_needs_rehash(old)
