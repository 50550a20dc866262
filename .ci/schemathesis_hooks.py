"""Schemathesis hooks for Iris's OpenAPI document.

Iris declares one custom string format whose rule a regular expression cannot carry:
``se-organisation-number`` (a Swedish organisation number: ten digits whose last is a Luhn
check digit, with an optional dash after the sixth and an optional ``16`` prefix). This
teaches the fuzzer to generate valid ones; negative tests still mutate them.
"""

import schemathesis
from hypothesis import strategies as st


def _luhn_check_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(nine)):
        d = int(ch)
        if i % 2 == 0:  # doubled positions, counting from the check digit's neighbour
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


@st.composite
def _organisation_numbers(draw):
    nine = draw(st.text(alphabet="0123456789", min_size=9, max_size=9))
    digits = nine + _luhn_check_digit(nine)
    prefix = draw(st.sampled_from(["", "16"]))
    dash = draw(st.booleans())
    body = f"{digits[:6]}-{digits[6:]}" if dash else digits
    return prefix + body


schemathesis.openapi.format("se-organisation-number", _organisation_numbers())
