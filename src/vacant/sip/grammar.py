"""RFC 3261 §25 ABNF pieces as compiled regular expressions.

Each pattern names the ABNF rule it implements in the comment beside it. The patterns are written
so that Python's backtracking engine stays linear: every repetition is over alternatives that
cannot match the same character (a character class, or an escape that starts with ``%`` or ``\\``
which the class excludes), and nothing is nested inside an ambiguous quantifier. They are used with
``fullmatch`` or ``match`` at a known position, never with ``search`` over unbounded text, except
for the few that only look for one character class.

Where RFC 3261's grammar is stricter than the peers we must interoperate with, the leniency is
named beside the pattern together with the RFC that asks for it (RFC 4475, RFC 5118).
"""

import re
from typing import Final

# --- §25.1 basic rules -----------------------------------------------------------------------

# alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"
TOKEN_CHARS: Final = r"A-Za-z0-9\-.!%*_+`'~"
# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN: Final = re.compile(rf"[{TOKEN_CHARS}]+")
# word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" /
#        "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
WORD_CHARS: Final = TOKEN_CHARS + r"()<>:\\\"/\[\]?{}"
# callid = word [ "@" word ]                                                      (§25.1, §20.8)
CALLID: Final = re.compile(rf"[{WORD_CHARS}]+(?:@[{WORD_CHARS}]+)?")
# quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
#   qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
#   quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
# The body is written as the "unrolled loop" so that a missing closing quote fails in linear time.
# Non-ASCII text arrives as str (UTF-8 decoded, undecodable octets as surrogate escapes).
QUOTED_BODY: Final = re.compile(
    r'[^"\\\x00-\x08\x0a-\x1f\x7f]*(?:\\[\x00-\x09\x0b\x0c\x0e-\x7f][^"\\\x00-\x08\x0a-\x1f\x7f]*)*"'
)
# quoted-pair, for unescaping a matched quoted-string
QUOTED_PAIR: Final = re.compile(r"\\(.)", re.DOTALL)
# LWS = [*WSP CRLF] 1*WSP ; after unfolding (§7.3.1) only SP / HTAB remain
WSP: Final = " \t"
# Control characters that may not appear outside quoted-pairs in a header field value or in a
# Reason-Phrase (HTAB is allowed; CR and LF never survive line splitting).
CTL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# --- §25.1 URI pieces (SIP-URI, absoluteURI) --------------------------------------------------

# unreserved = alphanum / mark ; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
UNRESERVED: Final = r"A-Za-z0-9\-_.!~*'()"
# escaped = "%" HEXDIG HEXDIG
ESCAPED: Final = r"%[0-9A-Fa-f]{2}"
# paramchar = param-unreserved / unreserved / escaped
#   param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
# pname = 1*paramchar ; pvalue = 1*paramchar                          (uri-parameters, other-param)
PARAMCHARS: Final = re.compile(rf"(?:[{UNRESERVED}\[\]/:&+$]|{ESCAPED})+")
_USER_CHAR: Final = rf"(?:[{UNRESERVED}&=+$,;?/]|{ESCAPED})"
_PASSWORD_CHAR: Final = rf"(?:[{UNRESERVED}&=+$,]|{ESCAPED})"
_PARAM_CHAR: Final = rf"(?:[{UNRESERVED}\[\]/:&+$]|{ESCAPED})"
_HNV_CHAR: Final = rf"(?:[{UNRESERVED}\[\]/?:+$]|{ESCAPED})"
# SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ], after "sip:" / "sips:":
#   userinfo = ( user / telephone-subscriber ) [ ":" password ] "@"
#   hostport = host [ ":" port ]        (host checked by uri.parse_host)
#   uri-parameters = *( ";" uri-parameter ) ; uri-parameter = pname [ "=" pvalue ]
#   headers = "?" header *( "&" header ) ; header = hname "=" hvalue
# No class here holds "@", so userinfo ends at the one "@"; none of the repeated alternatives
# overlap, so a failed match backtracks linearly.
SIP_URI_REST: Final = re.compile(
    rf"(?:({_USER_CHAR}+)(?::({_PASSWORD_CHAR}*))?@)?"
    r"(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9\-.]+)(?::([0-9]+))?"
    rf"((?:;{_PARAM_CHAR}+(?:={_PARAM_CHAR}+)?)*)"
    rf"(?:\?({_HNV_CHAR}+={_HNV_CHAR}*(?:&{_HNV_CHAR}+={_HNV_CHAR}*)*))?"
)
# domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum, written as runs of alphanum
# joined by runs of "-" so that it cannot backtrack;
# hostname = *( domainlabel "." ) toplabel [ "." ]   (toplabel's leading ALPHA checked in code)
HOSTNAME: Final = re.compile(
    r"(?:[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*\.)*[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*\.?"
)
# IPv4address = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT, each at most 255 (leading zeros
# allowed: 1*3DIGIT). Alternatives of fixed length, so matching is bounded.
_OCTET: Final = r"(?:25[0-5]|2[0-4][0-9]|[01][0-9][0-9]|[0-9][0-9]?)"
IPV4: Final = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
# IPv6address characters; the structure is checked with the ipaddress module (RFC 4291 forms) plus
# RFC 5118 §4.10's three-colon form that RFC 3261's own ABNF produces.
IPV6_CHARS: Final = re.compile(r"[0-9A-Fa-f:.]+")
# port = 1*DIGIT (at most 65535, in code)
DIGITS: Final = re.compile(r"[0-9]+")
# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
# absoluteURI = scheme ":" ( hier-part / opaque-part ), whose characters are all uric:
#   uric = reserved / unreserved / escaped
#   reserved = ";" / "/" / "?" / ":" / "@" / "&" / "=" / "+" / "$" / ","
URIC: Final = re.compile(rf"(?:[{UNRESERVED};/?:@&=+$,]|{ESCAPED})*")

# --- RFC 3966 (tel URI) -----------------------------------------------------------------------

# global-number-digits = "+" *phonedigit DIGIT *phonedigit
#   phonedigit = DIGIT / visual-separator ; visual-separator = "-" / "." / "(" / ")"
TEL_GLOBAL: Final = re.compile(r"\+[0-9\-.()]*[0-9][0-9\-.()]*")
# local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex
#   phonedigit-hex = HEXDIG / "*" / "#" / visual-separator
TEL_LOCAL: Final = re.compile(r"[0-9A-Fa-f*#\-.()]*[0-9A-Fa-f*#][0-9A-Fa-f*#\-.()]*")
# pname = 1*( alphanum / "-" )                                                  (RFC 3966 §3)
TEL_PNAME: Final = re.compile(r"[A-Za-z0-9\-]+")

# --- §25.1 message pieces ---------------------------------------------------------------------

# Method = INVITEm / ACKm / OPTIONSm / BYEm / CANCELm / REGISTERm / extension-method
# extension-method = token
METHOD: Final = TOKEN
# SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT        (case-insensitive, §7.1)
SIP_VERSION: Final = re.compile(r"[Ss][Ii][Pp]/[0-9]+\.[0-9]+")
# Status-Code = 3DIGIT (extension-code = 3DIGIT)
STATUS_CODE: Final = re.compile(r"[1-6][0-9][0-9]")
# A header line's name: field-name = token (extension-header: header-name = token)
HEADER_NAME: Final = TOKEN

# --- §25.1 header field pieces -----------------------------------------------------------------

# generic-param = token [ EQUAL gen-value ] ; gen-value = token / host / quoted-string
# SEMI = SWS ";" SWS ; EQUAL = SWS "=" SWS.  The unquoted value admits token characters plus
# ":" "[" "]" so that host (IPv6reference) and RFC 5118 §4.5's bracketed or bare IPv6 `received`
# fit; each typed view checks the values it interprets.
GENERIC_PARAM: Final = re.compile(
    rf'[ \t]*;[ \t]*([{TOKEN_CHARS}]+)(?:[ \t]*=[ \t]*(?:([{TOKEN_CHARS}:\[\]]+)|"))?'
)
# The common case of ``*( SEMI generic-param )``: no whitespace and no quoted-string, so the
# text splits at ";" and "=" into exactly what GENERIC_PARAM would match one by one.
_PLAIN_PARAMS: Final = rf"(?:;[{TOKEN_CHARS}]+(?:=[{TOKEN_CHARS}:\[\]]+)?)*"
PLAIN_PARAMS: Final = re.compile(_PLAIN_PARAMS)
# The common via-parm: "SIP/2.0/" transport SP host [":" port] and plain parameters; what
# VIA_HEAD and GENERIC_PARAM would match of it, in one pattern.
PLAIN_VIA: Final = re.compile(
    rf"SIP/2\.0/([A-Z]+) ([A-Za-z0-9\-.]+)(?::([0-9]+))?({_PLAIN_PARAMS})"
)
# The common name-addr: an optional quoted display name without quoted-pairs, "<" a URI
# without SP, quotes or angle brackets ">", and plain parameters.
PLAIN_NAME_ADDR: Final = re.compile(
    r'(?:"([^"\\\x00-\x1f\x7f]*)" *)?<([^<>"\x00-\x20]*)>'
    rf"({_PLAIN_PARAMS})"
)
# sent-protocol = protocol-name SLASH protocol-version SLASH transport ; SLASH = SWS "/" SWS
# via-parm = sent-protocol LWS sent-by ; sent-by = host [ COLON port ] ; COLON = SWS ":" SWS
VIA_HEAD: Final = re.compile(
    rf"([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]*/[ \t]*([{TOKEN_CHARS}]+)[ \t]+"
    r"(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9\-.]+)(?:[ \t]*:[ \t]*([0-9]+))?"
)
# CSeq = "CSeq" HCOLON 1*DIGIT LWS Method
CSEQ: Final = re.compile(rf"([0-9]+)[ \t]+([{TOKEN_CHARS}]+)")
# display-name = *(token LWS) / quoted-string (the token form; RFC 4475 §3.1.1.6 lets the last
# token touch the "<")
DISPLAY_TOKENS: Final = re.compile(rf"[{TOKEN_CHARS}]+(?:[ \t]+[{TOKEN_CHARS}]+)*")
# option-tag = token ; m-type "/" m-subtype = token "/" token (or "*")
MEDIA_RANGE: Final = re.compile(rf"(\*|[{TOKEN_CHARS}]+)[ \t]*/[ \t]*(\*|[{TOKEN_CHARS}]+)")


def is_token(text: str) -> bool:
    """Whether ``text`` is an RFC 3261 token (§25.1)."""
    return TOKEN.fullmatch(text) is not None


def is_plain_token(text: str) -> bool:
    """Whether ``text`` is a token of letters, digits, "-" and "." only: the form tags and
    branches take in practice, told without a regex (other tokens answer ``False``)."""
    return text.isascii() and text.replace("-", "").replace(".", "").isalnum()


def unquote(quoted: str) -> str:
    """The text of a quoted-string body (without its quotes), with quoted-pairs resolved."""
    return QUOTED_PAIR.sub(r"\1", quoted) if "\\" in quoted else quoted


def quote(text: str) -> str:
    """``text`` as a quoted-string (§25.1), escaping what qdtext cannot hold.

    Raises:
        ValueError: ``text`` holds CR or LF, which no quoted-string can carry.
    """
    if "\r" in text or "\n" in text:
        raise ValueError("a quoted-string cannot hold CR or LF")
    escaped = _QUOTE_NEEDS_PAIR.sub(lambda m: "\\" + m.group(), text)
    return f'"{escaped}"'


# qdtext excludes DQUOTE, "\" and controls other than HTAB: those travel as quoted-pairs.
_QUOTE_NEEDS_PAIR: Final = re.compile(r'["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')
