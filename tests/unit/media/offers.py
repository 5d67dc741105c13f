"""SDP fixtures as bytes: offers captured from the real peers on this machine, and edge cases.

BARESIP_OFFER, BARESIP_SRTP_OFFER and LINPHONE_OFFER are the bodies of INVITEs that baresip 1.0.0
and linphonec 5.1.65 sent to a UDP socket on 127.0.0.1 (captured for these tests). LINPHONE_HOLD is
linphonec's re-INVITE when it holds the call before a transfer (peers.md: same SDP, version bumped,
a=sendonly). SIPP_OFFER is SIPp 3.6's built-in uac scenario body.
"""

BARESIP_OFFER = (
    b"v=0\r\n"
    b"o=- 2407295881 1282917476 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"a=tool:baresip 1.0.0\r\n"
    b"m=audio 6706 RTP/AVP 0 8 9 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=sendrecv\r\n"
    b"a=label:1\r\n"
    b"a=rtcp-rsize\r\n"
    b"a=ssrc:1921946034 cname:sip:baresip@127.0.0.1\r\n"
    b"a=minptime:20\r\n"
    b"a=ptime:20\r\n"
)

BARESIP_SRTP_OFFER = (
    b"v=0\r\n"
    b"o=- 3490438055 1969797378 IN IP4 127.0.0.1\r\n"
    b"s=-\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"a=tool:baresip 1.0.0\r\n"
    b"m=audio 25688 RTP/SAVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-15\r\n"
    b"a=sendrecv\r\n"
    b"a=label:1\r\n"
    b"a=rtcp-rsize\r\n"
    b"a=ssrc:2223432931 cname:sip:baresip@127.0.0.1\r\n"
    b"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:1Rt1iRZwUmDigzW3VcHhLYO1qqx77EpHcT0rZFxb\r\n"
    b"a=minptime:20\r\n"
    b"a=ptime:20\r\n"
)

LINPHONE_OFFER = (
    b"v=0\r\n"
    b"o=linphone 1463 3894 IN IP4 127.0.0.1\r\n"
    b"s=Talk\r\n"
    b"c=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\n"
    b"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
    b"m=audio 7078 RTP/AVP 96 97 98 0 8 18 99 100 101\r\n"
    b"a=rtpmap:96 opus/48000/2\r\n"
    b"a=fmtp:96 useinbandfec=1\r\n"
    b"a=rtpmap:97 speex/16000\r\n"
    b"a=fmtp:97 vbr=on\r\n"
    b"a=rtpmap:98 speex/8000\r\n"
    b"a=fmtp:98 vbr=on\r\n"
    b"a=fmtp:18 annexb=yes\r\n"
    b"a=rtpmap:99 telephone-event/48000\r\n"
    b"a=rtpmap:100 telephone-event/16000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=rtcp-fb:* trr-int 5000\r\n"
    b"a=rtcp-fb:* ccm tmmbr\r\n"
)

# linphonec's hold before a transfer: the same session, version + 1, a=sendonly (RFC 3264 §8.4).
LINPHONE_HOLD = LINPHONE_OFFER.replace(b"1463 3894", b"1463 3895").replace(
    b"a=rtcp-fb:* ccm tmmbr\r\n", b"a=rtcp-fb:* ccm tmmbr\r\na=sendonly\r\n"
)

# SIPp 3.6 uac scenario (sipp -sn uac -mi 127.0.0.1), with bare LF line ends as some tools write.
SIPP_OFFER = (
    b"v=0\n"
    b"o=user1 53655765 2353687637 IN IP4 127.0.0.1\n"
    b"s=-\n"
    b"c=IN IP4 127.0.0.1\n"
    b"t=0 0\n"
    b"m=audio 6000 RTP/AVP 0\n"
    b"a=rtpmap:0 PCMU/8000\n"
)

# A softphone offering video first, then audio with G.722 preferred and an RTCP port (RFC 3605).
VIDEO_AUDIO_OFFER = (
    b"v=0\r\n"
    b"o=alice 2890844526 2890844527 IN IP6 2001:db8::10\r\n"
    b"s=call\r\n"
    b"c=IN IP6 2001:db8::10\r\n"
    b"b=AS:2048\r\n"
    b"t=0 0\r\n"
    b"m=video 51372 RTP/AVP 96\r\n"
    b"b=TIAS:1920000\r\n"
    b"a=rtpmap:96 H264/90000\r\n"
    b"a=fmtp:96 profile-level-id=42e01f\r\n"
    b"m=audio 49170 RTP/AVP 9 0 8 101\r\n"
    b"c=IN IP6 2001:db8::11\r\n"
    b"a=rtcp:53020 IN IP6 2001:db8::12\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
)

# RFC 4568 §7.1.1 style offer: an unsupported suite first, then one we support, and one with an MKI.
SRTP_OFFER = (
    b"v=0\r\n"
    b"o=- 1 1 IN IP4 192.0.2.5\r\n"
    b"s=-\r\n"
    b"c=IN IP4 192.0.2.5\r\n"
    b"t=0 0\r\n"
    b"m=audio 4000 RTP/SAVP 8 0\r\n"
    b"a=crypto:1 AES_256_CM_HMAC_SHA1_80"
    b" inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj+rD3Kb7jdNqJpyQ3ZqWMbg==\r\n"
    b"a=crypto:2 AES_CM_128_HMAC_SHA1_80"
    b" inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n"
    b"a=crypto:3 AES_CM_128_HMAC_SHA1_32"
    b" inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20\r\n"
    b"a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n"
)

# Not SDP at all: a session section without o= (RFC 4566 §5).
MALFORMED_OFFER = b"v=0\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
