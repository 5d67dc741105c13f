"""Dialogs (RFC 3261 §12) as a UAS creates them when it answers an INVITE with 2xx.

Theory of operation: ``Dialog.for_uas`` takes the dialog's state from the INVITE (§12.1.1): the
route set from Record-Route, the remote target from Contact, the remote sequence number from
CSeq, the tags from From and our To. ``create_request`` builds the requests the dialog sends
(BYE, REFER, NOTIFY, re-INVITE: §12.2.1.1), with the route set, the next CSeq, and a Request-URI
that honours strict routers; the endpoint's ``send_request`` then adds Via. ``receive_request``
applies §12.2.2 to a request inside the dialog: the CSeq order check (500) and target refresh.
``Dialogs`` finds the dialog a request belongs to, so the TU can answer 481 when there is none.

Dialog ids are seen from our side: the local tag is the To tag of our responses, the remote tag
the peer's From tag (empty for an RFC 2543 peer that sent none, §12.1.1).
"""

import random
from dataclasses import dataclass, replace
from typing import Final

from vacant.errors import LocalProtocolError, ParseError
from vacant.sip.events import Address
from vacant.sip.fields import NameAddr
from vacant.sip.message import Request
from vacant.sip.uri import SipUri, Uri

#: Target refresh requests, whose Contact replaces the remote target: re-INVITE (§12.2), UPDATE
#: (RFC 3311), SUBSCRIBE and NOTIFY (RFC 6665), REFER (RFC 3515); the list is RFC 5057's.
TARGET_REFRESH: Final = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"})

#: §8.1.1.5: the first CSeq number "MUST be less than 2**31".
_CSEQ_LIMIT: Final = 2**31


@dataclass(slots=True, init=False, unsafe_hash=True)
class DialogId:
    """Call-ID, local tag, remote tag (§12): what identifies a dialog at our end."""

    call_id: Final[str]
    local_tag: Final[str]
    remote_tag: Final[str]

    def __init__(self, call_id: str, local_tag: str, remote_tag: str) -> None:
        self.call_id = call_id
        self.local_tag = local_tag
        self.remote_tag = remote_tag

    @classmethod
    def for_request(cls, request: Request) -> "DialogId | None":
        """The id of the dialog an incoming request belongs to, as a UAS sees it: Call-ID, To
        tag (ours), From tag (the peer's); ``None`` for a request outside any dialog (no To
        tag, §12.2.2).

        Raises:
            ParseError: Call-ID, From or To is malformed (``validate_request`` has checked).
        """
        local = request.to.tag
        if local is None:
            return None
        return cls(request.call_id, local, request.from_.tag or "")


class Dialog:
    """The state of one dialog (§12): ids, URIs, route set, sequence numbers, secure flag.

    ``local_seq`` is the CSeq number of the last request we sent in the dialog; ``remote_seq``
    that of the last request the peer sent (``None`` until it sends one).
    """

    __slots__ = (
        "id",
        "local_contact",
        "local_seq",
        "local_uri",
        "remote_seq",
        "remote_target",
        "remote_uri",
        "route_set",
        "secure",
    )

    def __init__(
        self,
        *,
        dialog_id: DialogId,
        local_uri: NameAddr,
        remote_uri: NameAddr,
        remote_target: Uri,
        local_contact: Uri,
        route_set: tuple[Uri, ...] = (),
        local_seq: int = 0,
        remote_seq: int | None = None,
        secure: bool = False,
    ) -> None:
        self.id = dialog_id
        #: To and From of our requests, without tags (the tags live in ``id``).
        self.local_uri = local_uri
        self.remote_uri = remote_uri
        self.remote_target = remote_target
        self.local_contact = local_contact
        self.route_set = route_set
        self.local_seq = local_seq
        self.remote_seq = remote_seq
        self.secure = secure

    @classmethod
    def for_uas(
        cls,
        request: Request,
        *,
        local_tag: str,
        local_contact: Uri,
        source: Address | None = None,
        rng: random.Random | None = None,
    ) -> "Dialog":
        """The dialog a 2xx to ``request`` (an INVITE) creates at the UAS (§12.1.1).

        Args:
            request: the dialog-creating request, as received.
            local_tag: the To tag of our 2xx (``SipEndpoint.local_tag(tx)``).
            local_contact: the URI of our 2xx's Contact: where the peer sends in-dialog requests.
            source: where the request came from; over TLS with a SIPS Request-URI the dialog is
                secure (§12.1.1).
            rng: picks the first CSeq number of our requests (below 2**31, §8.1.1.5); without
                it the first is 1.

        Raises:
            ParseError: the request has no Contact (§8.1.1.8: an INVITE MUST have one), or a
                field the dialog needs is malformed; answer with its ``status_hint`` (400).
        """
        contacts = request.contacts
        if not contacts:
            raise ParseError("a dialog-creating request needs a Contact (§8.1.1.8)")
        first = rng.randrange(1, _CSEQ_LIMIT) if rng is not None else 1
        secure = source is not None and source.transport == "tls" and request.uri.scheme == "sips"
        return cls(
            dialog_id=DialogId(request.call_id, local_tag, request.from_.tag or ""),
            local_uri=_without_tag(request.to),
            remote_uri=_without_tag(request.from_),
            remote_target=contacts[0].uri,
            local_contact=local_contact,
            # §12.1.1: "the list of URIs in the Record-Route header field from the request,
            # taken in order and preserving all URI parameters".
            route_set=tuple(route.uri for route in request.record_routes),
            local_seq=first - 1,
            remote_seq=request.cseq.number,
            secure=secure,
        )

    def __repr__(self) -> str:
        return f"<Dialog {self.id.call_id} local={self.id.local_tag} remote={self.id.remote_tag}>"

    @property
    def next_hop(self) -> Uri:
        """Where requests in the dialog go first: the first route, else the remote target
        (§8.1.2, §12.2.1.1)."""
        return self.route_set[0] if self.route_set else self.remote_target

    def create_request(
        self, method: str, *, headers: tuple[tuple[str, str], ...] = (), body: bytes = b""
    ) -> Request:
        """A request inside the dialog (§12.2.1.1): BYE, REFER, NOTIFY, re-INVITE, ...

        To is the remote URI with the remote tag, From the local URI with the local tag, CSeq
        the next local sequence number; the route set becomes Route (after the strict-routing
        rewrite when its first URI lacks ``lr``); target refresh requests carry our Contact.
        ``headers`` follow (give Content-Type with a body). No Via: ``send_request`` adds it.

        Raises:
            LocalProtocolError: ACK or CANCEL, which take their INVITE's CSeq (§12.2.1.1, §9.1).
        """
        if method in ("ACK", "CANCEL"):
            raise LocalProtocolError(f"{method} takes its INVITE's CSeq; not built here")
        self.local_seq += 1
        uri, routes = self._request_target()
        remote = self.remote_uri
        if self.id.remote_tag:
            remote = remote.with_tag(self.id.remote_tag)
        fields = [("Route", f"<{route}>") for route in routes]
        fields += [
            ("Max-Forwards", "70"),
            ("From", str(self.local_uri.with_tag(self.id.local_tag))),
            ("To", str(remote)),
            ("Call-ID", self.id.call_id),
            ("CSeq", f"{self.local_seq} {method}"),
        ]
        if method in TARGET_REFRESH:
            fields.append(("Contact", f"<{self.local_contact}>"))
        fields += headers
        return Request(method, uri, fields, body)

    def _request_target(self) -> tuple[Uri, tuple[Uri, ...]]:
        """Request-URI and Route values (§12.2.1.1)."""
        routes = self.route_set
        if not routes:
            return self.remote_target, ()
        first = routes[0]
        if isinstance(first, SipUri) and first.lr:
            return self.remote_target, routes
        # A strict router: "the UAC MUST place the first URI from the route set into the
        # Request-URI, stripping any parameters that are not allowed in a Request-URI", and
        # the remote target goes last in Route. §19.1.1 Table 1 forbids "method" and headers.
        if isinstance(first, SipUri):
            first = replace(first, params=first.params.remove("method"), headers=())
        return first, (*routes[1:], self.remote_target)

    def receive_request(self, request: Request) -> int | None:
        """Apply §12.2.2 to a request inside this dialog; return the status to reject it
        with, or ``None`` to process it.

        A CSeq number lower than the last one is out of order: 500 ("MUST be rejected with a
        500"). Otherwise it becomes the remote sequence number, and a target refresh request
        with a Contact replaces the remote target.

        Raises:
            ParseError: CSeq or Contact is malformed (``validate_request`` has checked).
        """
        number = request.cseq.number
        if self.remote_seq is not None and number < self.remote_seq:
            return 500
        if request.method != "ACK":
            self.remote_seq = number
        if request.method in TARGET_REFRESH:
            contacts = request.contacts
            if contacts:
                self.remote_target = contacts[0].uri
        return None


def _without_tag(field: NameAddr) -> NameAddr:
    return replace(field, params=field.params.remove("tag")) if field.tag else field


class Dialogs:
    """The live dialogs of an endpoint, by id: which one a request belongs to (§12.2.2)."""

    __slots__ = ("_dialogs",)

    def __init__(self) -> None:
        self._dialogs: dict[DialogId, Dialog] = {}

    def __len__(self) -> int:
        return len(self._dialogs)

    def __contains__(self, dialog_id: object) -> bool:
        return dialog_id in self._dialogs

    def add(self, dialog: Dialog) -> None:
        """Remember ``dialog``.

        Raises:
            LocalProtocolError: a dialog with the same id is live already.
        """
        if dialog.id in self._dialogs:
            raise LocalProtocolError(f"dialog {dialog.id} exists already")
        self._dialogs[dialog.id] = dialog

    def remove(self, dialog_id: DialogId) -> Dialog | None:
        """Forget a dialog (after BYE); returns it, or ``None`` if it was not there."""
        return self._dialogs.pop(dialog_id, None)

    def get(self, dialog_id: DialogId) -> Dialog | None:
        """The dialog with ``dialog_id``, or ``None``."""
        return self._dialogs.get(dialog_id)

    def match(self, request: Request) -> Dialog | None:
        """The dialog an incoming request belongs to (§12.2.2), or ``None``: for a request
        with a To tag that means 481 (Call/Transaction Does Not Exist)."""
        dialog_id = DialogId.for_request(request)
        return None if dialog_id is None else self._dialogs.get(dialog_id)
