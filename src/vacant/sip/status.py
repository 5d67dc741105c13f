"""SIP response status codes with their reason phrases and class predicates.

Sources: RFC 3261 §21, and the RFCs named beside the extension codes (IANA "Response Codes"
registry). ``reason_phrase(code)`` also covers codes this table does not list, with the phrase of
the code's class: RFC 3261 §8.1.3.2 has a UAC treat an unknown code like its class's x00.
"""

from enum import IntEnum
from typing import Final


class StatusCode(IntEnum):
    """A response status code; ``phrase`` is the RFC's reason phrase."""

    # 1xx provisional (§21.1)
    TRYING = 100
    RINGING = 180
    CALL_IS_BEING_FORWARDED = 181
    QUEUED = 182
    SESSION_PROGRESS = 183
    EARLY_DIALOG_TERMINATED = 199  # RFC 6228
    # 2xx success (§21.2)
    OK = 200
    ACCEPTED = 202  # RFC 3265 (deprecated by RFC 6665)
    NO_NOTIFICATION = 204  # RFC 5839
    # 3xx redirection (§21.3)
    MULTIPLE_CHOICES = 300
    MOVED_PERMANENTLY = 301
    MOVED_TEMPORARILY = 302
    USE_PROXY = 305
    ALTERNATIVE_SERVICE = 380
    # 4xx request failure (§21.4)
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    PAYMENT_REQUIRED = 402
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    NOT_ACCEPTABLE = 406
    PROXY_AUTHENTICATION_REQUIRED = 407
    REQUEST_TIMEOUT = 408
    GONE = 410
    CONDITIONAL_REQUEST_FAILED = 412  # RFC 3903
    REQUEST_ENTITY_TOO_LARGE = 413
    REQUEST_URI_TOO_LONG = 414
    UNSUPPORTED_MEDIA_TYPE = 415
    UNSUPPORTED_URI_SCHEME = 416
    UNKNOWN_RESOURCE_PRIORITY = 417  # RFC 4412
    BAD_EXTENSION = 420
    EXTENSION_REQUIRED = 421
    SESSION_INTERVAL_TOO_SMALL = 422  # RFC 4028
    INTERVAL_TOO_BRIEF = 423
    BAD_LOCATION_INFORMATION = 424  # RFC 6442
    USE_IDENTITY_HEADER = 428  # RFC 8224
    PROVIDE_REFERRER_IDENTITY = 429  # RFC 3892
    FLOW_FAILED = 430  # RFC 5626
    ANONYMITY_DISALLOWED = 433  # RFC 5079
    BAD_IDENTITY_INFO = 436  # RFC 8224
    UNSUPPORTED_CREDENTIAL = 437  # RFC 8224
    INVALID_IDENTITY_HEADER = 438  # RFC 8224
    FIRST_HOP_LACKS_OUTBOUND_SUPPORT = 439  # RFC 5626
    MAX_BREADTH_EXCEEDED = 440  # RFC 5393
    BAD_INFO_PACKAGE = 469  # RFC 6086
    CONSENT_NEEDED = 470  # RFC 5360
    TEMPORARILY_UNAVAILABLE = 480
    CALL_TRANSACTION_DOES_NOT_EXIST = 481
    LOOP_DETECTED = 482
    TOO_MANY_HOPS = 483
    ADDRESS_INCOMPLETE = 484
    AMBIGUOUS = 485
    BUSY_HERE = 486
    REQUEST_TERMINATED = 487
    NOT_ACCEPTABLE_HERE = 488
    BAD_EVENT = 489  # RFC 6665
    REQUEST_PENDING = 491
    UNDECIPHERABLE = 493
    SECURITY_AGREEMENT_REQUIRED = 494  # RFC 3329
    # 5xx server failure (§21.5)
    SERVER_INTERNAL_ERROR = 500
    NOT_IMPLEMENTED = 501
    BAD_GATEWAY = 502
    SERVICE_UNAVAILABLE = 503
    SERVER_TIMEOUT = 504
    VERSION_NOT_SUPPORTED = 505
    MESSAGE_TOO_LARGE = 513
    PUSH_NOTIFICATION_SERVICE_NOT_SUPPORTED = 555  # RFC 8599
    PRECONDITION_FAILURE = 580  # RFC 3312
    # 6xx global failure (§21.6)
    BUSY_EVERYWHERE = 600
    DECLINE = 603
    DOES_NOT_EXIST_ANYWHERE = 604
    NOT_ACCEPTABLE_GLOBAL = 606
    UNWANTED = 607  # RFC 8197
    REJECTED = 608  # RFC 8688

    @property
    def phrase(self) -> str:
        """The reason phrase the RFC gives this code."""
        return _PHRASES.get(self, self.name.replace("_", " ").title())

    @property
    def is_provisional(self) -> bool:
        """1xx (§7.2)."""
        return is_provisional(self)

    @property
    def is_final(self) -> bool:
        """2xx-6xx (§7.2)."""
        return not is_provisional(self)

    @property
    def is_success(self) -> bool:
        """2xx."""
        return 200 <= self < 300


# Phrases that the member name does not spell by title-casing it.
_PHRASES: Final[dict[int, str]] = {
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    300: "Multiple Choices",
    380: "Alternative Service",
    407: "Proxy Authentication Required",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Unsupported URI Scheme",
    424: "Bad Location Information",
    428: "Use Identity Header",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    481: "Call/Transaction Does Not Exist",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    504: "Server Time-out",
    505: "Version Not Supported",
    555: "Push Notification Service Not Supported",
    580: "Precondition Failure",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

_CLASS_PHRASES: Final = {
    1: "Provisional",
    2: "Successful",
    3: "Redirection",
    4: "Request Failure",
    5: "Server Failure",
    6: "Global Failure",
}


def reason_phrase(code: int) -> str:
    """The reason phrase for ``code``: the RFC's, or the class's for an unlisted code (§8.1.3.2).

    Raises:
        ValueError: ``code`` is outside 100..699.
    """
    if not 100 <= code <= 699:
        raise ValueError(f"status code {code} is outside 100..699")
    phrase = _REASONS.get(code)
    return _CLASS_PHRASES[code // 100] if phrase is None else phrase


def is_provisional(code: int) -> bool:
    """Whether ``code`` is 1xx (§7.2)."""
    return code < 200


# Every member's phrase by code, computed once: reason_phrase runs for each response sent.
_REASONS: Final[dict[int, str]] = {int(member): member.phrase for member in StatusCode}
