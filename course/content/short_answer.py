"""Short answers graded as a person would: the normalisation and the matching rule, in one place.

`normalise(text)` — the form in which a typed answer and an accepted answer are compared, in this order:

1. Unicode NFKC: full-width letters, digits, punctuation and spaces become their half-width forms
   (`ＦＩＮＥ－ＴＵＮＩＮＧ` → `FINE-TUNING`, `（` → `(`, `，` → `,`, the ideographic space → a space).
2. Case-folded (`Fine-Tuning` → `fine-tuning`; also `ß` → `ss`).
3. Every run of whitespace becomes one space.
4. Spaces next to a CJK character (Han, kana, Hangul; whatever is on the other side) are removed: Chinese and
   Japanese do not separate words with spaces, so `GPT 模型`, `模型 GPT` and `大 模型` read as `gpt模型`,
   `模型gpt`, `大模型`. Spaces between two Latin words stay: `fine tuning` is not `fine-tuning` nor `finetuning`.
5. The ends are trimmed, repeatedly, of spaces and the punctuation `。．.！!？?、,，;；:：` and the quotes
   `"'“”‘’「」『』`, and of ONE pair of brackets that encloses the whole answer (`(…)`, `[…]`, `{…}`, `【…】`,
   `《…》`, `〈…〉` — full-width ones are already half-width after step 1): `“微调”。` → `微调`,
   `(fine-tuning)` → `fine-tuning`. A bracket that does not enclose the whole answer stays, so
   `微调（Fine-tuning）` keeps its closing bracket (see the parenthetical rule below). Punctuation inside the
   answer stays: `fine-tuning!` and `fine-tuning` are equal, `fine, tuning` and `fine tuning` are not.

`matches(typed, accepted)` — a typed answer is right when its normalised form is non-empty and

- equals the normalised form of one of the accepted answers; or
- it ends (or starts) with ONE parenthetical group — `(…)`, from ASCII or full-width brackets, with no bracket
  inside or outside it — that names the term in the other script (one side has CJK characters, the other has
  none), and the rest of the answer, normalised again, equals an accepted answer. So with `微调` accepted,
  `微调（Fine-tuning）`, `微调 (fine-tuning)` and `（Fine-tuning）微调` are right: the way lessons name a term with
  its alias. (A question's accepted answers hold every language's, so with `fine-tuning` and `微调` both
  accepted, `Fine-tuning（微调）` is right too.)

Nothing else is accepted: an answer that merely contains an accepted form is wrong (`not fine-tuning`, `微调不是`,
`fine-tuning and pre-training`); only one group is set aside (`微调(a)(b)`, `(微调)(x)` are wrong); the accepted
term must be the main text, not the bracket (`预训练（微调）`, `pre-training (fine-tuning)` are wrong); and a
bracket in the same script is not an alias but more of the answer (`微调（或预训练）`, `not (fine-tuning)` are
wrong). The alias itself is not checked against the accepted list (`微调（Finetune）` is right when `微调` is),
since any tighter rule would refuse aliases the author did not list. Accepted answers that themselves contain
brackets are compared whole first, so they still work.

`accepted_problems(answers)` — what the content check reports on a list of accepted answers: one that normalises
to nothing (e.g. only punctuation), and one that normalises to the same text as an earlier one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

# Han (with extension A and the compatibility block), CJK punctuation, kana, Hangul, the supplementary ideographs.
_CJK = (
    r"\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u31a0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uac00-\ud7af\uf900-\ufaff\U00020000-\U0003134f"
)
_ANY_CJK = re.compile(rf"[{_CJK}]")
_SPACE_NEXT_TO_CJK = re.compile(rf"(?<=[{_CJK}]) | (?=[{_CJK}])")
_TRIMMED = "。.!?、,;:\"'“”‘’「」『』 "  # after NFKC: ．！？，；： are already . ! ? , ; :
_PAIRS = {"(": ")", "[": "]", "{": "}", "【": "】", "《": "》", "〈": "〉"}
_TRAILING_GROUP = re.compile(r"^(?P<rest>.*[^ ]) ?\((?P<alias>[^()]*)\)$")
_LEADING_GROUP = re.compile(r"^\((?P<alias>[^()]*)\) ?(?P<rest>[^ ].*)$")


def normalise(text: str) -> str:
    """`text` in the form answers are compared in (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\s+", " ", text)
    text = _SPACE_NEXT_TO_CJK.sub("", text)
    while True:
        trimmed = _unwrap(text.strip(_TRIMMED))
        if trimmed == text:
            return text
        text = trimmed


def _unwrap(text: str) -> str:
    """`text` without the pair of brackets around it, if its first bracket closes at its last character."""
    if len(text) < 2 or _PAIRS.get(text[0]) != text[-1]:
        return text
    opening, closing, depth = text[0], text[-1], 0
    for i, char in enumerate(text):
        depth += (char == opening) - (char == closing)
        if depth == 0:
            return text[1:-1] if i == len(text) - 1 else text
    return text


def matches(typed: str, accepted: Iterable[str]) -> bool:
    """Whether `typed` is right, given the `accepted` answers (see the module's docstring)."""
    given = normalise(typed)
    if not given:
        return False
    forms = {normalise(answer) for answer in accepted} - {""}
    if given in forms:
        return True
    group = _TRAILING_GROUP.match(given) or _LEADING_GROUP.match(given)
    if not group:
        return False
    rest, alias = normalise(group["rest"]), normalise(group["alias"])
    translated = _has_cjk(rest) != _has_cjk(alias)  # a term and its name in the other script, as lessons write it
    return translated and "(" not in group["rest"] and rest in forms


def _has_cjk(text: str) -> bool:
    return _ANY_CJK.search(text) is not None


def accepted_problems(answers: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(index, message) for each accepted answer that is empty once normalised or repeats an earlier one."""
    seen: dict[str, int] = {}
    for i, answer in enumerate(answers):
        form = normalise(answer)
        if not form:
            yield (
                i,
                f"accepted answer {answer!r} is empty once normalised"
                if answer.strip()
                else "an accepted answer is empty",
            )
        elif form in seen:
            yield i, f"accepted answer {answer!r} repeats answer {seen[form] + 1} once normalised"
        else:
            seen[form] = i
