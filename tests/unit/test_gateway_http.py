"""``engine.gateways.http.send`` against a real socket server: every fault, classified.

Each server below is a few lines of asyncio on 127.0.0.1 (ephemeral port) scripting one fault;
it records what it really received, so the tests check both sides of the wire: what the client
concluded, and whether the request left. No fixed sleeps: tests wait on what the server saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from engine.gateways import http
from engine.gateways.http import Transport

Script = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A loopback TCP server running ``script`` for every connection; records what it read."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections = 0
        self.requests: list[bytes] = []
        self.request_read = asyncio.Event()  # set each time a complete request was read
        self.release = asyncio.Event()  # scripts that hold a request wait on this
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        """One complete HTTP/1.1 request (head and ``Content-Length`` body)."""
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = head + (await reader.readexactly(length) if length else b"")
        self.requests.append(request)
        self.request_read.set()
        return request


@contextlib.asynccontextmanager
async def serving(script: Script) -> AsyncIterator[Server]:
    server = Server(script)
    listener = await asyncio.start_server(server._handle, "127.0.0.1", 0)
    server.url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    try:
        yield server
    finally:
        listener.close()
        server.release.set()
        await listener.wait_closed()


def response(status: int, body: bytes = b"", *, headers: str = "", reason: str = "X") -> bytes:
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
    return head.encode() + body


def answering(*answers: bytes) -> Script:
    """Reads each request of a keep-alive connection and writes the next answer."""

    async def script(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            await server.read_request(reader)
            writer.write(answer)
            await writer.drain()
        await server.release.wait()

    return script


def reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST (linger 0), not a FIN: the peer sees ``ECONNRESET``."""
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


@pytest.fixture
async def client() -> AsyncIterator[http.GatewayClient]:
    async with http.new_client(connect_timeout=2.0, read_timeout=5.0) as gateway_client:
        yield gateway_client


async def post(client: http.GatewayClient, url: str, **kwargs: object) -> http.HttpResult:
    return await http.send(client, "POST", url + "/v1/payments", json={"amount": 100}, **kwargs)  # type: ignore[arg-type]


# --- provably not sent ------------------------------------------------------------------------------


async def test_connection_refused_is_not_sent(client: http.GatewayClient) -> None:
    with socket.socket() as held:  # bound, not listening: the kernel answers SYN with RST
        held.bind(("127.0.0.1", 0))
        result = await post(client, f"http://127.0.0.1:{held.getsockname()[1]}")
    assert result.transport is Transport.NOT_SENT and result.error == "ConnectError" and not result.answered


async def test_connect_timeout_is_not_sent() -> None:
    # A listener with a full accept queue (backlog 0, one connection queued, never accepted):
    # Linux drops further SYNs, so the handshake never completes -- deterministic and local.
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        filler.settimeout(5)
        filler.connect(listener.getsockname())
        async with http.new_client(connect_timeout=0.2, read_timeout=5.0) as short:
            result = await post(short, f"http://127.0.0.1:{listener.getsockname()[1]}")
    assert result.transport is Transport.NOT_SENT and result.error == "ConnectTimeout"


async def test_no_free_connection_in_time_is_not_sent() -> None:
    async def hold(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await server.release.wait()
        writer.write(response(200, b"{}"))
        await writer.drain()

    async with serving(hold) as server, http.new_client(connect_timeout=0.5, read_timeout=5.0, limit=1) as one:
        first = asyncio.create_task(post(one, server.url))
        await server.request_read.wait()  # the only connection is busy
        queued = await post(one, server.url)
        server.release.set()
        assert (await first).ok
    assert queued.transport is Transport.NOT_SENT and queued.error == "ConnectTimeout"
    assert server.connections == 1 and len(server.requests) == 1  # the queued one never left


async def test_unresolvable_host_is_not_sent() -> None:
    async with http.new_client(connect_timeout=2.0, read_timeout=1.0) as short:
        result = await post(short, "http://gateway.invalid")  # RFC 6761: never resolves
    assert result.transport is Transport.NOT_SENT and result.error in ("ConnectError", "ConnectTimeout")


async def test_non_http_url_is_not_sent(client: http.GatewayClient) -> None:
    assert (await post(client, "ftp://127.0.0.1:9")).transport is Transport.NOT_SENT


# --- may have left: unknown ---------------------------------------------------------------------------


async def test_closed_right_after_accept_is_unknown(client: http.GatewayClient) -> None:
    # The server closes before reading a byte. Not provably unsent: by then the client has
    # connected and handed its request to the kernel; from its side an EOF or RST now looks the
    # same as a server that read the request, acted on it and died. So: UNKNOWN.
    async def close_at_once(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reset(writer)

    async with serving(close_at_once) as server:
        result = await post(client, server.url)
    assert result.transport is Transport.UNKNOWN and result.error in ("ReadError", "RemoteProtocolError")


@pytest.mark.parametrize("how", ["reset", "close"])
async def test_dropped_after_the_request_was_read_is_unknown(client: http.GatewayClient, how: str) -> None:
    async def drop(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        if how == "reset":
            reset(writer)
        else:
            writer.close()

    async with serving(drop) as server:
        result = await post(client, server.url)
    assert result.transport is Transport.UNKNOWN
    assert result.error == ("ReadError" if how == "reset" else "RemoteProtocolError")
    assert len(server.requests) == 1 and server.connections == 1  # and it was not resent


async def test_read_timeout_is_unknown() -> None:
    async def never_answer(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await server.release.wait()

    async with serving(never_answer) as server, http.new_client(connect_timeout=1.0, read_timeout=0.2) as short:
        result = await post(short, server.url)
        assert server.request_read.is_set()
    assert result.transport is Transport.UNKNOWN and result.error == "ReadTimeout"


async def test_garbled_answer_is_unknown(client: http.GatewayClient) -> None:
    async with serving(answering(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")) as server:
        result = await post(client, server.url)
    assert result.transport is Transport.UNKNOWN and result.error == "RemoteProtocolError"


async def test_reset_mid_body_is_unknown(client: http.GatewayClient) -> None:
    async def half(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"id": "pay_')
        await writer.drain()
        reset(writer)

    async with serving(half) as server:
        result = await post(client, server.url)
    assert result.transport is Transport.UNKNOWN and not result.body


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_reused_connection_dropped_is_unknown_and_never_resent(client: http.GatewayClient, method: str) -> None:
    # The second request goes out on the pooled keep-alive connection, which the server drops
    # after reading it -- aiohttp would resend a GET on a fresh connection; we never resend.
    async def once_then_drop(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        writer.write(response(200, b'{"n": 1}'))
        await writer.drain()
        await server.read_request(reader)
        reset(writer)

    async with serving(once_then_drop) as server:
        first = await http.send(client, method, server.url + "/v1/a")
        second = await http.send(client, method, server.url + "/v1/b")
    assert first.ok and first.data == {"n": 1}
    assert second.transport is Transport.UNKNOWN and second.error == "ReadError"
    assert server.connections == 1 and len(server.requests) == 2


async def test_cancellation_propagates(client: http.GatewayClient) -> None:
    async def never_answer(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        await server.release.wait()

    async with serving(never_answer) as server:
        task = asyncio.create_task(post(client, server.url))
        await server.request_read.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


# --- complete answers ---------------------------------------------------------------------------------


async def test_json_answer_with_auth_form_and_headers(client: http.GatewayClient) -> None:
    ok = response(201, b'{"ok": true}', headers="X-Thing: 1\r\nX-Thing: 2\r\n")
    async with serving(answering(ok, ok)) as server:
        got = await post(client, server.url, auth=("id", "secret"), headers={"x-routing-id": "o1"})
        form = await http.send(client, "POST", server.url + "/f", form={"a": "1 2", "b": "&"})
    assert got.ok and got.status == 201 and got.parsed and got.data == {"ok": True}
    assert got.headers["x-thing"] == "1, 2" and got.error is None
    sent = server.requests[0].lower()
    assert b"authorization: basic awq6c2vjcmv0\r\n" in sent and b"x-routing-id: o1" in sent
    assert b"content-type: application/json" in sent and sent.endswith(b'{"amount":100}')
    assert form.ok and server.requests[1].endswith(b"a=1+2&b=%26")
    assert b"content-type: application/x-www-form-urlencoded" in server.requests[1].lower()
    assert server.connections == 1  # keep-alive


async def test_empty_200_is_answered_unparsed(client: http.GatewayClient) -> None:
    async with serving(answering(response(200))) as server:
        result = await post(client, server.url)
    assert result.answered and result.ok and result.status == 200 and not result.parsed and result.body == b""


async def test_html_503_is_answered_unparsed(client: http.GatewayClient) -> None:
    page = b"<html><body>Service Unavailable</body></html>"
    async with serving(answering(response(503, page, headers="Content-Type: text/html\r\n"))) as server:
        result = await post(client, server.url)
    assert result.answered and not result.ok and result.status == 503
    assert not result.parsed and result.data is None and result.body == page


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_oversized_body_is_answered_too_large(client: http.GatewayClient, framing: str) -> None:
    big = b"x" * (http.MAX_BODY_BYTES + 1)
    if framing == "chunked":
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(big), big)
    else:
        answer = response(200, big)
    async with serving(answering(answer)) as server:
        result = await post(client, server.url)
    assert result.answered and result.status == 200 and result.too_large
    assert not result.parsed and result.body == b""


async def test_body_at_the_cap_is_read(client: http.GatewayClient) -> None:
    body = b'"' + b"x" * (http.MAX_BODY_BYTES - 2) + b'"'
    async with serving(answering(response(200, body))) as server:
        result = await post(client, server.url)
    assert result.ok and not result.too_large and result.parsed and len(result.body) == http.MAX_BODY_BYTES


async def test_redirect_is_answered_not_followed(client: http.GatewayClient) -> None:
    moved = response(302, b"", headers="Location: http://127.0.0.1:9/elsewhere\r\n")
    async with serving(answering(moved)) as server:
        result = await post(client, server.url)
    assert result.answered and result.status == 302 and result.headers["location"].endswith("/elsewhere")
    assert len(server.requests) == 1


async def test_broken_content_encoding_is_answered_unreadable(client: http.GatewayClient) -> None:
    good = gzip.compress(b'{"ok": true}')
    broken = response(200, b"not gzip at all", headers="Content-Encoding: gzip\r\n")
    async with serving(answering(response(200, good, headers="Content-Encoding: gzip\r\n"), broken)) as server:
        ok = await post(client, server.url)
        bad = await post(client, server.url)
    assert ok.ok and ok.data == {"ok": True}
    assert bad.answered and bad.status == 200 and bad.error == "DecodingError" and not bad.parsed


# --- counting -----------------------------------------------------------------------------------------


async def test_counting_counts_requests_that_may_have_left(client: http.GatewayClient) -> None:
    async def one_answer_then_drop(server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await server.read_request(reader)
        if len(server.requests) == 1:
            writer.write(response(200, b"{}"))
            await writer.drain()
            await server.release.wait()
        else:
            reset(writer)

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{held.getsockname()[1]}"
        async with serving(one_answer_then_drop) as server:
            with http.counting() as counter:
                assert (await post(client, refused)).transport is Transport.NOT_SENT
                assert counter.sent == 0
                assert (await post(client, server.url)).ok
                async with http.new_client(connect_timeout=2.0, read_timeout=5.0) as other:
                    assert (await post(other, server.url)).transport is Transport.UNKNOWN
            assert counter.sent == 2
            assert (await post(client, refused)).transport is Transport.NOT_SENT  # outside: not counted
            assert counter.sent == 2


async def test_a_closed_client_sends_nothing() -> None:
    async with serving(answering(response(200, b"{}"))) as server:
        closed = http.new_client()
        assert (await post(closed, server.url)).ok
        await closed.close()
        with http.counting() as counter:
            result = await post(closed, server.url)
    assert result.transport is Transport.NOT_SENT and result.error == "ClientClosed" and counter.sent == 0
    assert len(server.requests) == 1
