import assert from "node:assert/strict";
import { WebSocketError, WebSocketStatus } from "../../lib/errors.ts";
import {
  acceptClientResponse,
  type DeflateClientOptions,
  type DeflateParams,
  negotiateServer,
  offerClient,
  parseExtensions,
} from "../../lib/protocol/deflate_negotiation.ts";

const DEFAULT_PARAMS: DeflateParams = {
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
};

function simplify(header: string) {
  return parseExtensions(header).map((offer) => ({
    name: offer.name,
    params: Object.fromEntries(offer.params),
    duplicates: offer.duplicates,
  }));
}

// --- parseExtensions -------------------------------------------------------

Deno.test("parseExtensions reads names, flags and values", () => {
  assert.deepEqual(
    simplify(
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
    ),
    [{
      name: "permessage-deflate",
      params: { client_max_window_bits: true, server_max_window_bits: "10" },
      duplicates: [],
    }],
  );
  assert.deepEqual(simplify("foo"), [{
    name: "foo",
    params: {},
    duplicates: [],
  }]);
});

Deno.test("parseExtensions splits several offers and keeps their order", () => {
  assert.deepEqual(
    simplify(
      "permessage-deflate; server_max_window_bits=10, x-webkit-deflate-frame, permessage-deflate",
    ).map((offer) => offer.name),
    ["permessage-deflate", "x-webkit-deflate-frame", "permessage-deflate"],
  );
});

Deno.test("parseExtensions accepts whitespace around every separator", () => {
  assert.deepEqual(
    simplify(
      " \tpermessage-deflate \t;\t client_max_window_bits \t= \t12 ;server_no_context_takeover\t ,  foo ; a = b  ",
    ),
    [
      {
        name: "permessage-deflate",
        params: {
          client_max_window_bits: "12",
          server_no_context_takeover: true,
        },
        duplicates: [],
      },
      { name: "foo", params: { a: "b" }, duplicates: [] },
    ],
  );
});

Deno.test("parseExtensions unquotes quoted-string values, escapes included", () => {
  assert.deepEqual(
    simplify('permessage-deflate; server_max_window_bits="10"'),
    [{
      name: "permessage-deflate",
      params: { server_max_window_bits: "10" },
      duplicates: [],
    }],
  );
  assert.deepEqual(simplify('foo; a="b\\c"'), [{
    name: "foo",
    params: { a: "bc" },
    duplicates: [],
  }]);
});

Deno.test("parseExtensions skips a quoted value that is not a token, even one holding a comma", () => {
  assert.deepEqual(
    simplify('foo; a="x, y", bar, baz; b="has space"; c, qux').map((offer) =>
      offer.name
    ),
    ["bar", "qux"],
  );
});

Deno.test("parseExtensions lower-cases names and parameter names but not values", () => {
  assert.deepEqual(simplify("PerMessage-Deflate; Server_Max_Window_Bits=Ab"), [{
    name: "permessage-deflate",
    params: { server_max_window_bits: "Ab" },
    duplicates: [],
  }]);
});

Deno.test("parseExtensions reports repeated parameters and keeps the first value", () => {
  assert.deepEqual(
    simplify(
      "permessage-deflate; server_max_window_bits=10; SERVER_MAX_WINDOW_BITS=11; server_max_window_bits=12",
    ),
    [{
      name: "permessage-deflate",
      params: { server_max_window_bits: "10" },
      duplicates: ["server_max_window_bits"],
    }],
  );
});

Deno.test("parseExtensions ignores empty elements", () => {
  assert.deepEqual(simplify(", ,foo,, bar ,"), [
    { name: "foo", params: {}, duplicates: [] },
    { name: "bar", params: {}, duplicates: [] },
  ]);
  assert.deepEqual(simplify(""), []);
  assert.deepEqual(simplify("   "), []);
});

Deno.test("parseExtensions skips malformed elements and keeps the rest", () => {
  const cases: [string, string[]][] = [
    ["; a, ok", ["ok"]],
    ["foo;, ok", ["ok"]],
    ["foo; =1, ok", ["ok"]],
    ["foo; a=, ok", ["ok"]],
    ["foo; a==1, ok", ["ok"]],
    ["foo bar, ok", ["ok"]],
    ["foo; a=1 2, ok", ["ok"]],
    ['foo; a="unterminated, ok', []],
    ['foo; a="x"y, ok', ["ok"]],
    ['foo; a="", ok', ["ok"]],
    ["fo\u00e9, ok", ["ok"]],
    ["foo; a=(x), ok", ["ok"]],
    ['"quoted-name", ok', ["ok"]],
    ["ok; a=1;", []],
  ];
  for (const [header, names] of cases) {
    assert.deepEqual(
      parseExtensions(header).map((offer) => offer.name),
      names,
      header,
    );
  }
});

Deno.test("parseExtensions never throws on garbage", () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const alphabet = 'ab=;,"\\ \t\x00\u00ff\u{1F600}-_1589';
  for (let round = 0; round < 2000; round++) {
    const length = Math.floor(random() * 40);
    let header = "";
    for (let i = 0; i < length; i++) {
      header += [...alphabet][Math.floor(random() * [...alphabet].length)];
    }
    const offers = parseExtensions(header);
    for (const offer of offers) {
      assert.match(offer.name, /^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
    }
  }
});

// --- negotiateServer: RFC 7692 section 7.1.3 examples ----------------------

Deno.test("negotiateServer answers the simplest offer with the simplest response", () => {
  assert.deepEqual(negotiateServer("permessage-deflate"), {
    response: "permessage-deflate",
    params: DEFAULT_PARAMS,
  });
});

Deno.test("negotiateServer accepts server_max_window_bits=10 with the same value (RFC 7692 7.1.3)", () => {
  assert.deepEqual(
    negotiateServer(
      "permessage-deflate; client_max_window_bits; server_max_window_bits=10",
    ),
    {
      response: "permessage-deflate; server_max_window_bits=10",
      params: { ...DEFAULT_PARAMS, serverMaxWindowBits: 10 },
    },
  );
});

Deno.test("negotiateServer picks the first acceptable offer of several (RFC 7692 7.1.3 fallback)", () => {
  const header =
    "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits";
  assert.equal(
    negotiateServer(header)?.response,
    "permessage-deflate; server_max_window_bits=10",
  );
  // An invalid first offer falls back to the second.
  assert.deepEqual(
    negotiateServer(
      "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
    ),
    { response: "permessage-deflate", params: DEFAULT_PARAMS },
  );
  // Other extensions before it are skipped.
  assert.equal(
    negotiateServer("x-webkit-deflate-frame, foo; bar, permessage-deflate")
      ?.response,
    "permessage-deflate",
  );
});

Deno.test("negotiateServer answers what a browser offers", () => {
  assert.deepEqual(
    negotiateServer("permessage-deflate; client_max_window_bits"),
    { response: "permessage-deflate", params: DEFAULT_PARAMS },
  );
});

Deno.test("negotiateServer honours server_no_context_takeover and echoes client_no_context_takeover", () => {
  assert.deepEqual(
    negotiateServer(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ),
    {
      response:
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
      params: {
        ...DEFAULT_PARAMS,
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
      },
    },
  );
});

Deno.test("negotiateServer applies its own options", () => {
  assert.deepEqual(
    negotiateServer("permessage-deflate; client_max_window_bits", {
      disableServerContextTakeover: true,
      clientMaxWindowBits: 15,
    }),
    {
      response:
        "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
      params: { ...DEFAULT_PARAMS, serverNoContextTakeover: true },
    },
  );
  // A smaller server window is announced unasked; the smaller of two wins.
  assert.deepEqual(
    negotiateServer("permessage-deflate", { serverMaxWindowBits: 12 }),
    {
      response: "permessage-deflate; server_max_window_bits=12",
      params: { ...DEFAULT_PARAMS, serverMaxWindowBits: 12 },
    },
  );
  assert.equal(
    negotiateServer("permessage-deflate; server_max_window_bits=10", {
      serverMaxWindowBits: 12,
    })?.params.serverMaxWindowBits,
    10,
  );
  assert.equal(
    negotiateServer("permessage-deflate; server_max_window_bits=14", {
      serverMaxWindowBits: 12,
    })?.response,
    "permessage-deflate; server_max_window_bits=12",
  );
  // The client's window: limited when the client supports it.
  assert.deepEqual(
    negotiateServer("permessage-deflate; client_max_window_bits", {
      clientMaxWindowBits: 10,
    }),
    {
      response: "permessage-deflate; client_max_window_bits=10",
      params: { ...DEFAULT_PARAMS, clientMaxWindowBits: 10 },
    },
  );
  assert.equal(
    negotiateServer("permessage-deflate; client_max_window_bits=9", {
      clientMaxWindowBits: 10,
    })?.response,
    "permessage-deflate; client_max_window_bits=9",
  );
  assert.equal(
    negotiateServer("permessage-deflate; client_max_window_bits=12", {
      clientMaxWindowBits: 10,
    })?.response,
    "permessage-deflate; client_max_window_bits=10",
  );
});

Deno.test("negotiateServer echoes a client's own window limit, which sizes the inflater", () => {
  assert.deepEqual(
    negotiateServer("permessage-deflate; client_max_window_bits=11"),
    {
      response: "permessage-deflate; client_max_window_bits=11",
      params: { ...DEFAULT_PARAMS, clientMaxWindowBits: 11 },
    },
  );
});

Deno.test("negotiateServer accepts window bits 8 (deflated with 9, see the module notes)", () => {
  assert.deepEqual(
    negotiateServer(
      "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
    ),
    {
      response:
        "permessage-deflate; server_max_window_bits=8; client_max_window_bits=8",
      params: {
        ...DEFAULT_PARAMS,
        serverMaxWindowBits: 8,
        clientMaxWindowBits: 8,
      },
    },
  );
});

Deno.test("negotiateServer accepts quoted values", () => {
  assert.equal(
    negotiateServer('permessage-deflate; server_max_window_bits="9"')?.response,
    "permessage-deflate; server_max_window_bits=9",
  );
});

Deno.test("negotiateServer declines every invalid form of the offer", () => {
  const invalid = [
    // Repeated parameters.
    "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    // Unknown parameters.
    "permessage-deflate; foo",
    "permessage-deflate; client_max_window_bits; mux=1",
    // Values on the flags.
    "permessage-deflate; server_no_context_takeover=1",
    "permessage-deflate; client_no_context_takeover=true",
    'permessage-deflate; server_no_context_takeover=""',
    // server_max_window_bits without a value, or with a bad one.
    "permessage-deflate; server_max_window_bits",
    "permessage-deflate; server_max_window_bits=7",
    "permessage-deflate; server_max_window_bits=16",
    "permessage-deflate; server_max_window_bits=0",
    "permessage-deflate; server_max_window_bits=010",
    "permessage-deflate; server_max_window_bits=08",
    "permessage-deflate; server_max_window_bits=10.0",
    "permessage-deflate; server_max_window_bits=+10",
    "permessage-deflate; server_max_window_bits=a",
    'permessage-deflate; server_max_window_bits="1 0"',
    // client_max_window_bits with a bad value.
    "permessage-deflate; client_max_window_bits=7",
    "permessage-deflate; client_max_window_bits=16",
    "permessage-deflate; client_max_window_bits=012",
    "permessage-deflate; client_max_window_bits=x",
    // Malformed syntax.
    "permessage-deflate; ",
    "permessage-deflate;; server_no_context_takeover",
    "permessage-deflate server_no_context_takeover",
    // Not permessage-deflate.
    "x-webkit-deflate-frame",
    "deflate-frame; no_context_takeover",
    "",
  ];
  for (const header of invalid) {
    assert.equal(negotiateServer(header), undefined, header);
    // The same offer followed by a valid one falls back to it.
    assert.equal(
      negotiateServer(`${header}, permessage-deflate`)?.response,
      "permessage-deflate",
      header,
    );
  }
});

Deno.test("negotiateServer declines an offer whose client window it cannot limit", () => {
  assert.equal(
    negotiateServer("permessage-deflate", { clientMaxWindowBits: 10 }),
    undefined,
  );
  assert.equal(
    negotiateServer(
      "permessage-deflate, permessage-deflate; client_max_window_bits",
      { clientMaxWindowBits: 10 },
    )?.response,
    "permessage-deflate; client_max_window_bits=10",
  );
  // A limit of 15 limits nothing.
  assert.equal(
    negotiateServer("permessage-deflate", { clientMaxWindowBits: 15 })
      ?.response,
    "permessage-deflate",
  );
});

Deno.test("negotiateServer rejects options out of range", () => {
  for (const bits of [7, 16, 10.5, NaN]) {
    assert.throws(
      () =>
        negotiateServer("permessage-deflate", {
          serverMaxWindowBits: bits as 8,
        }),
      RangeError,
    );
    assert.throws(
      () =>
        negotiateServer("permessage-deflate", {
          clientMaxWindowBits: bits as 8,
        }),
      RangeError,
    );
  }
});

// --- client ---------------------------------------------------------------

Deno.test("offerClient builds one permessage-deflate offer", () => {
  assert.equal(offerClient(), "permessage-deflate; client_max_window_bits");
  assert.equal(
    offerClient({
      clientMaxWindowBits: 10,
      serverMaxWindowBits: 11,
      clientNoContextTakeover: true,
      serverNoContextTakeover: true,
    }),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=10",
  );
  assert.throws(() => offerClient({ serverMaxWindowBits: 7 as 8 }), RangeError);
  assert.throws(
    () => offerClient({ clientMaxWindowBits: 16 as 15 }),
    RangeError,
  );
});

Deno.test("the client's offer is accepted by the server and the answers agree", () => {
  const cases: [DeflateClientOptions, Parameters<typeof negotiateServer>[1]][] =
    [
      [{}, {}],
      [{ serverMaxWindowBits: 10 }, {}],
      [{ clientMaxWindowBits: 9, clientNoContextTakeover: true }, {
        serverMaxWindowBits: 12,
      }],
      [{ serverNoContextTakeover: true }, { clientMaxWindowBits: 11 }],
      [{ serverMaxWindowBits: 8 }, { disableServerContextTakeover: true }],
    ];
  for (const [client, server] of cases) {
    const accepted = negotiateServer(offerClient(client), server);
    assert.ok(accepted, JSON.stringify(client));
    assert.deepEqual(
      acceptClientResponse(accepted.response, client),
      accepted.params,
      accepted.response,
    );
  }
});

Deno.test("acceptClientResponse reads a valid answer", () => {
  assert.deepEqual(
    acceptClientResponse("permessage-deflate"),
    DEFAULT_PARAMS,
  );
  assert.deepEqual(
    acceptClientResponse(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
    ),
    {
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 10,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    },
  );
  // A smaller server window than requested is allowed (RFC 7692 7.1.2.1).
  assert.equal(
    acceptClientResponse("permessage-deflate; server_max_window_bits=9", {
      serverMaxWindowBits: 12,
    }).serverMaxWindowBits,
    9,
  );
  // Without client_max_window_bits in the answer, the client keeps its own promise.
  assert.equal(
    acceptClientResponse("permessage-deflate", { clientMaxWindowBits: 11 })
      .clientMaxWindowBits,
    11,
  );
  assert.equal(
    acceptClientResponse("permessage-deflate", {
      clientNoContextTakeover: true,
    })
      .clientNoContextTakeover,
    true,
  );
  // Quoted values and odd spacing are fine.
  assert.equal(
    acceptClientResponse(' permessage-deflate ;server_max_window_bits = "10" ')
      .serverMaxWindowBits,
    10,
  );
});

Deno.test("acceptClientResponse throws HandshakeRejected for every invalid answer", () => {
  const invalid: [string, DeflateClientOptions][] = [
    ["", {}],
    [" , ", {}],
    ["x-webkit-deflate-frame", {}],
    ["permessage-deflate, permessage-deflate", {}],
    ["permessage-deflate, foo", {}],
    ["permessage-deflate; foo", {}],
    ["permessage-deflate; server_no_context_takeover=1", {}],
    ["permessage-deflate; client_no_context_takeover=1", {}],
    [
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
      {},
    ],
    ["permessage-deflate; server_max_window_bits", {}],
    ["permessage-deflate; server_max_window_bits=7", {}],
    ["permessage-deflate; server_max_window_bits=16", {}],
    ["permessage-deflate; server_max_window_bits=09", {}],
    ["permessage-deflate; client_max_window_bits", {}],
    ["permessage-deflate; client_max_window_bits=16", {}],
    ["permessage-deflate; client_max_window_bits=7", {}],
    ["permessage-deflate;", {}],
    ['permessage-deflate; server_max_window_bits="10', {}],
    // Not allowed by the offer.
    ["permessage-deflate", { serverNoContextTakeover: true }],
    ["permessage-deflate", { serverMaxWindowBits: 10 }],
    ["permessage-deflate; server_max_window_bits=11", {
      serverMaxWindowBits: 10,
    }],
    ["permessage-deflate; client_max_window_bits=12", {
      clientMaxWindowBits: 11,
    }],
  ];
  for (const [header, offered] of invalid) {
    assert.throws(
      () => acceptClientResponse(header, offered),
      (error: unknown) => {
        assert.ok(error instanceof WebSocketError, header);
        assert.equal(error.status, WebSocketStatus.HandshakeRejected, header);
        assert.match(error.message, /permessage-deflate negotiation failed/);
        return true;
      },
      header,
    );
  }
});

Deno.test("acceptClientResponse accepts what RFC 7692 lets a server add unasked", () => {
  // server_no_context_takeover (7.1.1.1), client_no_context_takeover
  // (7.1.1.2) and server_max_window_bits (7.1.2.1) may come unrequested.
  assert.deepEqual(
    acceptClientResponse(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12",
    ),
    {
      serverMaxWindowBits: 12,
      clientMaxWindowBits: 15,
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
    },
  );
  // Requested 15 and not answered: 15 is what was asked for.
  assert.equal(
    acceptClientResponse("permessage-deflate", { serverMaxWindowBits: 15 })
      .serverMaxWindowBits,
    15,
  );
});
