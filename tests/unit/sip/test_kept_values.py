"""Values made from kept ones: a Via of a seen shape with its own branch, a name-addr of a kept
untagged one with its tag. Each must be exactly what parsing its text gives."""

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vacant.errors import ParseError
from vacant.sip import NameAddr, Via, fields, grammar, uri

EXAMPLES = settings(max_examples=400, deadline=None)


def _outcome(parse: Callable[[str], object], text: str) -> object:
    """The value, or the error's message: what a kept value must reproduce."""
    try:
        return parse(text)
    except ParseError as exc:
        return f"ParseError: {exc}"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("z9hG4bK776asdhds", True),
        ("z9hG4bK-1234-1-0", True),  # SIPp's
        ("z9hG4bKcydzigwkX.1", True),
        ("", False),
        ("-.", False),
        ("z9hG4bK!", False),  # a token, but not of the plain form: parsed in full
        ("a b", False),
        ("é1", False),
        ("a;b", False),
    ],
)
def test_plain_tokens_are_letters_digits_dashes_and_dots(text: str, plain: bool) -> None:
    assert grammar.is_plain_token(text) is plain
    if plain:
        assert grammar.is_token(text)


# --- Via --------------------------------------------------------------------------------------

SENT = ["SIP/2.0/UDP 192.0.2.1:5060", "SIP/2.0/TCP h.example", "SIP / 2.0 / udp [2001:db8::1]"]
# Parameter texts around the branch; {b} is the branch. Some are malformed, some hide a
# ";branch=" where it is no parameter, some spell it otherwise.
VIA_PARAMS = [
    ";branch={b}", ";rport", ";rport=5060", ";received=192.0.2.9", ";x=y", " ;y", ";ttl=1",
    ";maddr=h.example", ";Branch={b}", ';x="a;branch={b};c"', ";branch=", ";x", ";branch={b} ",
    ";ttl=999", ";rport=x", '"', ",", ";branch=a", ";BRANCH=z9hG4bKq",
]  # fmt: skip
BRANCHES = ["z9hG4bK1", "z9hG4bK-77-1-0", "z9hG4bKa.b", "z9hG4bK!", "q", "a b", "z9hG4bK;x"]


@EXAMPLES
@given(
    st.sampled_from(SENT),
    st.lists(st.sampled_from(VIA_PARAMS), max_size=5),
    st.lists(st.sampled_from(BRANCHES), min_size=1, max_size=3),
)
def test_a_via_of_a_kept_shape_is_what_its_text_parses_to(
    sent: str, params: list[str], branches: list[str]
) -> None:
    fields._VIA_SHAPES.clear()
    template = sent + "".join(params)
    for branch in branches:  # the first may keep the shape the others are made from
        text = template.replace("{b}", branch)
        assert _outcome(Via.parse, text) == _outcome(fields._parse_via, text)


def test_a_vias_shape_is_kept_and_gives_the_next_branch() -> None:
    # §8.1.1.7: every request of a peer has its own branch; the rest of its Via repeats.
    fields._VIA_SHAPES.clear()
    first = Via.parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-1-1-0;rport")
    assert first.branch == "z9hG4bK-1-1-0"
    shape = "SIP/2.0/UDP 192.0.2.1:5060;branch=;rport"
    assert fields._VIA_SHAPES[shape] == (first, 0)
    second = Via.parse("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-2-1-0;rport")
    assert second == fields._parse_via("SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-2-1-0;rport")
    assert second.branch == "z9hG4bK-2-1-0"
    assert second.rport_requested


@pytest.mark.parametrize(
    "text",
    [
        "SIP/2.0/UDP h;Branch=z9hG4bK1;branch=z9hG4bK1",  # the branch is the first, spelt so
        "SIP/2.0/UDP h;BRANCH=z9hG4bK2;branch=z9hG4bK1",
        f"SIP/2.0/UDP h;x={'a' * uri.KEPT_TEXT_MAX};branch=z9hG4bK1",  # too long to keep
        'SIP/2.0/UDP h;x="q";branch=z9hG4bK1',  # a quoted-string: not looked at
        "SIP/2.0/UDP h;branch=z9hG4bK!",  # not of the plain form
        "SIP/2.0/UDP h;rport",  # no branch
    ],
)
def test_a_via_shape_is_kept_only_where_the_branch_is_the_one_cut_out(text: str) -> None:
    fields._VIA_SHAPES.clear()
    assert Via.parse(text) == fields._parse_via(text)
    assert fields._VIA_SHAPES == {}


def test_the_kept_via_shapes_stay_bounded() -> None:
    for n in range(fields._KEPT_MAX + 1):
        assert Via.parse(f"SIP/2.0/UDP h{n}.example;branch=z9hG4bK{n}").host == f"h{n}.example"
    assert 0 < len(fields._VIA_SHAPES) <= fields._KEPT_MAX


# --- name-addr with a tag ---------------------------------------------------------------------

# Texts before a tag: some malformed, some with a ";tag=" of their own or hidden in quotes.
UNTAGGED = [
    '"Alice" <sip:+14255550100@pbx.example.com;user=phone>', "sipp <sip:sipp@127.0.0.1:5061>",
    "<sip:a@b.example>", "sip:a@b.example", "sip:a@b.example;p=1", "<sip:a@b.example> ",
    " <sip:a@b.example>", '"x;tag=y" <sip:a@b.example>', "<sip:a@b.example;tag=u>",
    "<sip:a@b.example>;tag", "<sip:a@b.example>;tag=1", '<sip:a@b.example>;p="q',
    "<sip:a@b.example>;p=", "<sip:a @b.example>", "sip:a@b.example?h=v", '<sip:a@b.example>;q="',
    "<sip:a@b.example>;p=[::1]", "Bob Smith <tel:+15551234>", "", ";",
]  # fmt: skip
TAGS = ["1928301774", "12345SIPpTag001", "a-b.c", "x!", 'q"', "a>b", ""]


@EXAMPLES
@given(st.sampled_from(UNTAGGED), st.lists(st.sampled_from(TAGS), min_size=1, max_size=3))
def test_a_tagged_name_addr_made_from_a_kept_one_is_what_its_text_parses_to(
    untagged: str, tags: list[str]
) -> None:
    fields._NAME_ADDRS.clear()
    _outcome(NameAddr.parse, untagged)  # may be kept on its own
    for tag in tags:  # the first may keep the untagged part the others are made from
        text = f"{untagged};tag={tag}"
        assert _outcome(NameAddr.parse, text) == _outcome(fields._parse_name_addr, text)


@pytest.mark.parametrize(
    "untagged",
    ["sipp <sip:sipp@127.0.0.1:5061>", '"x;tag=y" <sip:a@b.example>', "sip:a@b.example;p=1"],
)
def test_the_text_before_a_tag_is_kept_and_gives_the_next_tag(untagged: str) -> None:
    # §19.3: every dialog a peer starts has a tag of its own; the rest of its From repeats.
    fields._NAME_ADDRS.clear()
    first = NameAddr.parse(f"{untagged};tag=1SIPpTag001")
    kept = fields._NAME_ADDRS[untagged]
    assert first.uri is kept.uri
    second = NameAddr.parse(f"{untagged};tag=1SIPpTag002")
    assert second == fields._parse_name_addr(f"{untagged};tag=1SIPpTag002")
    assert second.params.items == (*kept.params.items, ("tag", "1SIPpTag002"))


@pytest.mark.parametrize(
    "text",
    [
        "<sip:a@b.example>;tag=1;tag=2",  # the text before the last tag has a tag
        "<sip:a@b.example>;tag=x!",  # not of the plain form
        f"<sip:{'a' * uri.KEPT_TEXT_MAX}@b.example>;tag=1",  # too long to keep
    ],
)
def test_the_text_before_a_tag_is_kept_only_when_tagless(text: str) -> None:
    fields._NAME_ADDRS.clear()
    assert NameAddr.parse(text) == fields._parse_name_addr(text)
    assert fields._NAME_ADDRS == {}
