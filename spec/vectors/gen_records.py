"""Test vectors for spec §1 and §2: keys, canonical JSON, records, URL normalisation.

``generate()`` returns ``{"keys.json", "canonical-json.json", "records.json", "urls.json",
"trust-records.json"}``.
Everything comes from fixed seeds and fixed times. Published vectors (RFC 8032 §7.1, the W3C
CCG did:key test vectors, RFC 8785 and its reference test data) are typed in with their
published answers; every other expected value is computed by this project's code, and each
negative case names the error class the specification requires, which the generator checks
against the code before writing anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import cast

from registry.core import encoding, keys, records, urls
from registry.core.encoding import b64encode, canonical_json
from registry.core.errors import ProtocolError

ISSUED_AT = 1767225600  # 2026-01-01T00:00:00Z
SEEDS = {name: hashlib.sha256(f"consent-registry vectors: {name}".encode()).digest()
         for name in ("alice", "bob", "node", "platform")}  # fmt: skip
# keys.json lists only these two
_KEY_VECTOR_SEEDS = ("alice", "bob")

# RFC 8032 §7.1, Ed25519: (name, secret key, public key, message, signature), all hex.
_TEST_1024_MESSAGE = (
    "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1"
    "e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d"
    "658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a"
    "7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
    "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10"
    "3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1"
    "85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d"
    "502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
    "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b"
    "eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba"
    "b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b"
    "e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
    "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d"
    "cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df"
    "f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7"
    "984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
    "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09"
    "43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f"
    "b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161"
    "0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
    "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca"
    "c60c905c15fc910840b94c00a0b9d0"
)
RFC8032 = [
    (
        "TEST 1",
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
        "d25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "TEST 2",
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c"
        "387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "TEST 3",
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc659"
        "4a7c15e9716ed28dc027beceea1ec40a",
    ),
    (
        "TEST 1024",
        "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
        "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
        _TEST_1024_MESSAGE,
        "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b"
        "5e8fcd4f681e30a6ac00a9704a188a03",
    ),
    (
        "TEST SHA(abc)",
        "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
        "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd"
        "454d4423643ce80e2a9ac94fa54ca49f",
        "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e030"
        "3dca179c138ac17ad9bef1177331a704",
    ),
]

# W3C CCG did:key test vectors (test-vectors/ed25519-x25519.json): seed -> did, base58 key.
DID_KEY = [
    ("00" * 32, "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
     "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS"),
    ("00" * 31 + "01", "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
     "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt"),
    ("00" * 31 + "02", "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
     "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH"),
    ("00" * 31 + "03", "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
     "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2"),
    ("00" * 31 + "04", "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
     "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x"),
]  # fmt: skip

BAD_DIDS = [
    ("empty", ""),
    ("did-web", "did:web:example.com"),
    ("no-multibase-z", "did:key:6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
    ("not-base58", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW0"),
    ("truncated", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW"),
    ("x25519-key", "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW"),
    ("fragment", "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
                 "#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
    ("uppercase-method", "DID:KEY:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
]  # fmt: skip


def _expect_error(expected: str, call: Callable[..., object], *args: object) -> str:
    """Check that ``call(*args)`` raises ``expected`` (a ProtocolError class name)."""
    try:
        call(*args)
    except ProtocolError as exc:
        if type(exc).__name__ != expected:
            raise AssertionError(f"expected {expected}, got {type(exc).__name__}: {exc}") from exc
        return expected
    raise AssertionError(f"expected {expected} from {getattr(call, '__name__', call)}{args!r}")


_P = 2**255 - 19
_REFUSED_POINTS = {
    # The eight small-order points of edwards25519 (the identity, order 2, 4, 4, 8, 8, 8, 8).
    "identity": bytes.fromhex("01" + "00" * 31),
    "order-2": bytes.fromhex("ec" + "ff" * 30 + "7f"),
    "order-4-a": bytes(32),
    "order-4-b": bytes(31) + b"\x80",
    "order-8-a": bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    "order-8-b": bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    "order-8-c": bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    "order-8-d": bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
    # Non-canonical: y >= p (here y = p + 4 and y = 2**255 - 1), and x = 0 with the sign bit.
    "y-above-p": (_P + 4).to_bytes(32, "little"),
    "y-all-ones": b"\xff" * 31 + b"\x7f",
    "identity-negative-zero": bytes.fromhex("01" + "00" * 30 + "80"),
}


def _keys() -> dict[str, object]:
    cases: list[dict[str, object]] = []
    for name, seed, public, message, signature in RFC8032:
        key = keys.PrivateKey.from_seed(bytes.fromhex(seed))
        cases.append({
            "name": f"rfc8032-{name.lower().replace(' ', '-').replace('(', '').replace(')', '')}",
            "source": f"RFC 8032 §7.1 {name}",
            "seed": seed, "public_key": public, "did": key.public_key.did,
            "message": message, "signature": signature, "result": "valid",
        })  # fmt: skip
    for seed, did, base58 in DID_KEY:
        cases.append({
            "name": f"w3c-did-key-seed-{seed[-2:]}",
            "source": "W3C CCG did:key test vectors, ed25519-x25519.json",
            "seed": seed, "public_key": encoding.b58decode(base58).hex(), "did": did,
            "result": "valid",
        })  # fmt: skip
    for name in _KEY_VECTOR_SEEDS:
        key = keys.PrivateKey.from_seed(SEEDS[name])
        text = f"consent-registry test message for {name}".encode()
        cases.append({
            "name": f"seed-{name}", "source": "this project",
            "seed": SEEDS[name].hex(), "public_key": key.public_key.raw.hex(),
            "did": key.public_key.did, "message": text.hex(),
            "signature": key.sign(text).hex(), "result": "valid",
        })  # fmt: skip
    for name, did in BAD_DIDS:
        cases.append({
            "name": f"bad-did-{name}", "did": did, "result": "invalid",
            "error": _expect_error("KeyFormatError", keys.PublicKey.from_did, did),
        })  # fmt: skip
    alice = keys.PrivateKey.from_seed(SEEDS["alice"])
    signed = b"consent-registry"
    good = alice.sign(signed)
    bad_signatures = {
        "bit-flipped": bytes([good[0] ^ 1]) + good[1:],
        "s-flipped": good[:40] + bytes([good[40] ^ 0x80]) + good[41:],
        "truncated": good[:63],
        "other-message": alice.sign(b"consent-registry!"),
        "all-zero": bytes(64),
    }
    for name, bad in bad_signatures.items():
        cases.append({
            "name": f"bad-signature-{name}", "public_key": alice.public_key.raw.hex(),
            "message": signed.hex(), "signature": bad.hex(), "result": "invalid",
            "error": _expect_error("SignatureError", alice.public_key.verify, bad, signed),
        })  # fmt: skip
    for name, raw in {"short-public-key": bytes(31), "long-public-key": bytes(33)}.items():
        cases.append({
            "name": name, "public_key": raw.hex(), "result": "invalid",
            "error": _expect_error("KeyFormatError", keys.PublicKey.from_bytes, raw),
        })  # fmt: skip
    # spec §1.4.4: small-order and non-canonically encoded points, as A and as R.
    for name, raw in _REFUSED_POINTS.items():
        cases.append({
            "name": f"refused-public-key-{name}", "public_key": raw.hex(), "result": "invalid",
            "error": _expect_error("KeyFormatError", keys.PublicKey.from_bytes, raw),
        })  # fmt: skip
    for name, raw in _REFUSED_POINTS.items():
        forged = raw + good[32:]
        cases.append({
            "name": f"refused-signature-r-{name}", "public_key": alice.public_key.raw.hex(),
            "message": signed.hex(), "signature": forged.hex(), "result": "invalid",
            "error": _expect_error("SignatureError", alice.public_key.verify, forged, signed),
        })  # fmt: skip
    return {
        "description": "Ed25519 (RFC 8032) keys and signatures, did:key identifiers (spec §1.4, "
        "§1.5). Valid cases: the seed gives public_key and did; signature (if any) is the "
        "signature of message by seed and verifies. Invalid cases: did does not parse, "
        "public_key does not load, or signature does not verify for message under public_key. "
        "Bytes are lowercase hex.",
        "cases": cases,
    }


# RFC 8785 §3.2.2 and §3.2.3 examples and cyberphone/json-canonicalization testdata:
# (name, source, JSON text, canonical text or None if it must be rejected).
_RFC8785_NUMBERS = (
    '{\n  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n'
    '  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
    '  "literals": [null, true, false]\n}'
)
PUBLISHED_JSON = [
    ("rfc8785-3.2.2-with-floats", "RFC 8785 §3.2.2 (floats are outside the model)",
     _RFC8785_NUMBERS, None),
    ("rfc8785-3.2.2-without-numbers", "RFC 8785 §3.2.2, the numbers member removed",
     '{\n  "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n'
     '  "literals": [null, true, false]\n}',
     '{"literals":[null,true,false],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'),
    ("rfc8785-3.2.3-sorting", "RFC 8785 §3.2.3",
     '{\n  "\\u20ac": "Euro Sign",\n  "\\r": "Carriage Return",\n'
     '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "1": "One",\n'
     '  "\\ud83d\\ude00": "Emoji: Grinning Face",\n  "\\u0080": "Control",\n'
     '  "\\u00f6": "Latin Small Letter O With Diaeresis"\n}',
     '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
     '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
     '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'),
    ("jcs-testdata-arrays", "cyberphone/json-canonicalization testdata arrays.json",
     '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
     '[56,{"1":[],"10":null,"d":true}]'),
    ("jcs-testdata-french", "cyberphone/json-canonicalization testdata french.json",
     '{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n'
     '  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ingnore locale"\n}\n',
     '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French",'
     '"p\u00eache":"but canonicalization MUST","sin":"ingnore locale"}'),
    ("jcs-testdata-structures-with-float", "cyberphone/json-canonicalization structures.json",
     '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n'
     '  "a": { },\n  "111": [ { } ],\n  "A": { }\n}', None),
    ("jcs-testdata-structures-integer", "structures.json with 56.0 written as 56",
     '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56},\n  "10": { },\n  "": "empty",\n'
     '  "a": { },\n  "111": [ { } ],\n  "A": { }\n}',
     '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}'),
    ("jcs-testdata-unicode", "cyberphone/json-canonicalization testdata unicode.json",
     '{\n  "Unnormalized Unicode":"\\u1e0d\\u0307"\n}\n',
     '{"Unnormalized Unicode":"\u1e0d\u0307"}'),
    ("jcs-testdata-weird", "cyberphone/json-canonicalization testdata weird.json",
     '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n'
     '  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n'
     '  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
     '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\x7f",'
     '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\U0001f602":"Smiley",'
     '"\ufb33":"Hebrew Letter Dalet With Dagesh"}'),
]  # fmt: skip

# This project's cases: (name, JSON text or bytes, canonical text / error class name).
_CONTROLS = "".join(f"\\u{c:04x}" for c in range(0x20))
OWN_JSON: list[tuple[str, str | bytes, str]] = [
    ("all-control-characters", f'"{_CONTROLS}"',
     '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e'
     '\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a'
     '\\u001b\\u001c\\u001d\\u001e\\u001f"'),
    ("no-other-escapes", '"\\u002f\\/\\u007f\\u2028\\u2029\\u00e9<>&\'"',
     '"//\x7f\u2028\u2029\u00e9<>&\'"'),
    ("integers", "[0, -0, 1, -1, 9007199254740991, -9007199254740991]",
     "[0,0,1,-1,9007199254740991,-9007199254740991]"),
    ("literals-and-empty", ' [ null , true , false , "" , [ ] , { } ] ',
     '[null,true,false,"",[],{}]'),
    ("nested-sorting", '{"b":{"d":1,"c":2},"a":[{"z":0,"y":0}]}',
     '{"a":[{"y":0,"z":0}],"b":{"c":2,"d":1}}'),
    ("depth-32", "[" * 32 + "]" * 32, "[" * 32 + "]" * 32),
    ("depth-33", "[" * 33 + "]" * 33, "EncodingError"),
    ("integer-2-to-53", "9007199254740992", "EncodingError"),
    ("integer-minus-2-to-53", "-9007199254740992", "EncodingError"),
    ("float-1.0", "1.0", "EncodingError"),
    ("float-exponent", "1e3", "EncodingError"),
    ("float-in-object", '{"a":0.5}', "EncodingError"),
    ("leading-zero", "01", "EncodingError"),
    ("nan", "NaN", "EncodingError"),
    ("trailing-comma", "[1,]", "EncodingError"),
    ("single-quotes", "{'a':1}", "EncodingError"),
    ("byte-order-mark", b"\xef\xbb\xbf{}", "EncodingError"),
    ("invalid-utf8", b'"\xff"', "EncodingError"),
    ("utf8-encoded-surrogate", b'"\xed\xa0\x80"', "EncodingError"),
    ("overlong-utf8", b'"\xc0\xaf"', "EncodingError"),
    ("lone-high-surrogate", '"\\ud800"', "EncodingError"),
    ("lone-low-surrogate", '"\\udc00"', "EncodingError"),
    ("reversed-surrogates", '"\\ude00\\ud83d"', "EncodingError"),
    ("raw-control-character", '"a\tb"', "EncodingError"),
    ("trailing-garbage", "{} x", "EncodingError"),
    ("empty", "", "EncodingError"),
]  # fmt: skip

# Canonical-form checks (spec §1.2.4): valid JSON of the model that is not canonical.
NOT_CANONICAL: list[tuple[str, str]] = [
    ("whitespace", '{"a": 1}'),
    ("trailing-newline", '{"a":1}\n'),
    ("key-order", '{"b":1,"a":2}'),
    ("utf16-key-order", '{"\ufb33":1,"\U0001f600":2}'),
    ("escaped-letter", '"\\u0041"'),
    ("escaped-solidus", '"\\/"'),
    ("uppercase-hex-escape", '"\\u001F"'),
    ("long-escape-for-newline", '"\\u000a"'),
    ("escaped-non-ascii", '"\\u00e9"'),
    ("negative-zero", "-0"),
    ("duplicate-key-same-value", '{"a":1,"a":1}'),
    ("duplicate-key-other-value", '{"a":1,"a":2}'),
]  # fmt: skip


def _text(data: str | bytes) -> dict[str, str]:
    """A JSON-text input: as a string when it is valid UTF-8, else as hex."""
    if isinstance(data, bytes):
        return {"input_hex": data.hex()}
    return {"input": data}


def _canonical_json() -> dict[str, object]:
    cases: list[dict[str, object]] = []

    def canonicalize(data: bytes) -> bytes:
        return canonical_json(encoding.parse_json(data))

    for name, source, text, expected in PUBLISHED_JSON:
        case: dict[str, object] = {"name": name, "source": source, "operation": "canonicalize"}
        case.update(_text(text))
        if expected is None:
            case.update(result="invalid", error=_expect_error(
                "EncodingError", canonicalize, text.encode()))  # fmt: skip
        else:
            got = canonicalize(text.encode()).decode()
            assert got == expected, (name, got, expected)
            case.update(result="valid", output=expected)
        cases.append(case)
    for name, data, expected in OWN_JSON:
        raw = data if isinstance(data, bytes) else data.encode()
        case = {"name": name, "source": "this project", "operation": "canonicalize"}
        case.update(_text(data))
        if expected.endswith("Error"):
            case.update(result="invalid", error=_expect_error(expected, canonicalize, raw))
        else:
            got = canonicalize(raw).decode()
            assert got == expected, (name, got, expected)
            case.update(result="valid", output=expected)
        cases.append(case)
    for name, text in NOT_CANONICAL:
        cases.append({
            "name": f"check-{name}", "source": "this project", "operation": "check",
            "input": text, "result": "invalid",
            "error": _expect_error(
                "NonCanonicalError", encoding.parse_canonical_json, text.encode()
            ),
        })  # fmt: skip
    for name, _source, _text_in, expected in PUBLISHED_JSON:
        if expected is not None:
            encoding.parse_canonical_json(expected.encode())
            cases.append({
                "name": f"check-{name}", "source": "this project", "operation": "check",
                "input": expected, "result": "valid",
            })  # fmt: skip
    return {
        "description": "Canonical JSON (spec §1.2): RFC 8785 for integers-only JSON. "
        "operation 'canonicalize': parse input (JSON text; input_hex when not valid UTF-8) "
        "strictly (spec §1.2.3) and serialise canonically; output is the canonical text. "
        "operation 'check': input must be byte-identical to its canonical form (spec §1.2.4). "
        "Invalid cases name the error class.",
        "cases": cases,
    }


# --- records -----------------------------------------------------------------------------------


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _json(value: object) -> bytes:
    return canonical_json(cast("encoding.JSONValue", value))


def _sign_raw(value: dict[str, object], key: keys.PrivateKey) -> bytes:
    """Sign any record-shaped dict without validating it: for invalid-record vectors."""
    unsigned = {k: v for k, v in value.items() if k != "sig"}
    return _json({**unsigned, "sig": b64encode(key.sign(_json(unsigned)))})


def _base(key: keys.PrivateKey, **changes: object) -> dict[str, object]:
    value: dict[str, object] = {
        "type": "declaration",
        "v": 1,
        "creator": key.public_key.did,
        "issued_at": ISSUED_AT,
        "works": [{"sha256": _sha("work-1")}],
        "prefs": {"train-ai": "n"},
    }
    value.update(changes)
    return value


def _valid_records(
    alice: keys.PrivateKey, bob: keys.PrivateKey
) -> tuple[list[dict[str, object]], dict[str, bytes]]:
    entries: dict[str, bytes] = {}
    minimal = records.new_declaration(
        creator=alice.public_key.did, issued_at=ISSUED_AT,
        works=[records.new_work(_sha("work-1"))], prefs={"train-ai": "n"},
    )  # fmt: skip
    entries["minimal"] = records.encode_record(records.sign_declaration(minimal, alice))
    full_work = records.new_work(
        _sha("work-2"),
        pdq=_sha("pdq-2"),
        pdq_quality=87,
        iscc="ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY",
        urls=["https://Example.com:443/art/../gallery/work%7e2.png#top", "http://example.org"],
        media_type="image/png",
    )
    full = records.new_declaration(
        creator=alice.public_key.did, issued_at=ISSUED_AT + 60,
        works=[full_work, records.new_work(_sha("work-1"))],
        prefs={"train-ai": "n", "search": "y", "ai": "n"},
        supersedes=[records.record_id(entries["minimal"])],
    )  # fmt: skip
    entries["full"] = records.encode_record(records.sign_declaration(full, alice))
    withdrawal = records.new_declaration(
        creator=alice.public_key.did, issued_at=ISSUED_AT + 120,
        works=[records.new_work(_sha("work-1"))], prefs={}, withdraw=True,
        supersedes=[records.record_id(entries["full"])],
    )  # fmt: skip
    entries["withdrawal"] = records.encode_record(records.sign_declaration(withdrawal, alice))
    other = records.new_declaration(
        creator=bob.public_key.did, issued_at=0,
        works=[records.new_work(_sha(f"bob-{i}")) for i in range(5)],
        prefs={"train-ai": "y", "*": "n"},
    )  # fmt: skip
    entries["other-creator-five-works"] = records.encode_record(
        records.sign_declaration(other, bob)
    )
    # spec §2.4: an image's PDQ hash with the PDQ hashes of its crops, as the SDK declares it.
    variants = records.new_declaration(
        creator=alice.public_key.did, issued_at=ISSUED_AT + 180,
        works=[_image_work(_sha("work-3"))], prefs={"train-ai": "n"},
    )  # fmt: skip
    entries["pdq-variants"] = records.encode_record(records.sign_declaration(variants, alice))
    biggest = _largest(alice, lambda i: records.new_work(_sha(f"many-{i}")))
    entries["largest-sha256-only"] = records.encode_record(records.sign_declaration(biggest, alice))
    biggest = _largest(alice, lambda i: _image_work(_sha(f"many-{i}")))
    entries["largest-images-with-variants"] = records.encode_record(
        records.sign_declaration(biggest, alice)
    )
    cases: list[dict[str, object]] = []
    for name, entry in entries.items():
        record = records.load_record(entry)
        cases.append({
            "name": name, "entry": entry.decode("ascii"), "result": "valid",
            "record_id": records.record_id(entry),
            "signing_input": records.signing_input(record).decode("ascii"),
            "works": len(record.works), "size": len(entry),
        })  # fmt: skip
    return cases, entries


def _image_work(sha256: str, variants: int = 16) -> records.Work:
    """An image as the SDK declares it: PDQ, its quality, ``pdq_variants`` of its 16 crops, an
    ISCC-CODE and a media type (spec §2.4, ADR 0011)."""
    return records.new_work(
        sha256,
        pdq=_sha(f"pdq-{sha256}"),
        pdq_quality=100,
        pdq_variants=[_sha(f"crop-{i}-{sha256}") for i in range(variants)],
        iscc="ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY",
        media_type="image/jpeg",
    )


def _largest(key: keys.PrivateKey, make: Callable[[int], records.Work]) -> records.Declaration:
    """The declaration with the most works built by ``make`` that fits MAX_ENTRY_BYTES
    (spec §2.6)."""
    works = [make(i) for i in range(records.MAX_WORKS)]
    count = len(works)
    while True:
        record = records.new_declaration(
            creator=key.public_key.did, issued_at=ISSUED_AT, works=works[:count],
            prefs={"train-ai": "n"},
        )  # fmt: skip
        if records.entry_size(record) <= records.MAX_ENTRY_BYTES:
            return record
        count -= 1


def _invalid_records(
    alice: keys.PrivateKey, bob: keys.PrivateKey, entries: dict[str, bytes]
) -> list[tuple[str, bytes, str]]:
    minimal = entries["minimal"]
    text = minimal.decode()
    work = {"sha256": _sha("work-1")}
    sorted_works = sorted([_sha("a"), _sha("b")])
    many_works = [{"sha256": _sha(f"many-{i}")} for i in range(records.MAX_WORKS + 1)]
    many_works.sort(key=lambda w: w["sha256"])
    flipped_sig = bytearray(minimal)
    position = minimal.index(b'"sig":"') + 7
    flipped_sig[position] = ord("B") if flipped_sig[position] != ord("B") else ord("C")
    oversize_url = "https://example.com/" + "a" * 2100
    return [
        # spec §2.7 step 1: size.
        ("oversize", minimal[:-1] + b" " * (records.MAX_ENTRY_BYTES - len(minimal) + 1) + b"}",
         "LimitError"),
        ("too-many-works", _sign_raw(_base(alice, works=many_works), alice), "LimitError"),
        # step 2: strict JSON of the model.
        ("not-json", b"declaration", "EncodingError"),
        ("invalid-utf8", minimal.replace(b'"train-ai"', b'"train-\xff"'), "EncodingError"),
        ("lone-surrogate", text.replace('"train-ai"', '"train-\\ud800"').encode(),
         "EncodingError"),
        ("float-version", text.replace('"v":1', '"v":1.0').encode(), "EncodingError"),
        ("exponent-issued-at", text.replace(f'"issued_at":{ISSUED_AT}', '"issued_at":1e9')
         .encode(), "EncodingError"),
        ("leading-zero", text.replace('"v":1', '"v":01').encode(), "EncodingError"),
        ("issued-at-2-to-53", text.replace(f'"issued_at":{ISSUED_AT}', f'"issued_at":{2**53}')
         .encode(), "EncodingError"),
        # step 3: canonical form.
        ("whitespace", text.replace('"v":1', '"v": 1').encode(), "NonCanonicalError"),
        ("trailing-newline", minimal + b"\n", "NonCanonicalError"),
        ("key-order", text.replace('"type":"declaration","v":1', '"v":1,"type":"declaration"')
         .encode(), "NonCanonicalError"),
        ("escaped-letter", text.replace('"train-ai":"n"', '"train-ai":"\\u006e"').encode(),
         "NonCanonicalError"),
        ("escaped-solidus", _replace_url_escape(entries["full"]), "NonCanonicalError"),
        ("duplicate-key", text.replace('"v":1', '"v":1,"v":1').encode(), "NonCanonicalError"),
        ("negative-zero", _sign_raw(_base(alice, issued_at=0), alice).replace(
            b'"issued_at":0', b'"issued_at":-0'), "NonCanonicalError"),
        # step 4: record type and schema.
        ("not-an-object", b"[]", "RecordError"),
        ("missing-type", _sign_raw({k: v for k, v in _base(alice).items() if k != "type"},
                                   alice), "RecordError"),
        ("unknown-type", _sign_raw(_base(alice, type="rotation"), alice), "RecordError"),
        ("type-not-a-string", _sign_raw(_base(alice, type=1), alice), "RecordError"),
        ("unknown-field", _sign_raw(_base(alice, zzz=1), alice), "RecordError"),
        ("unknown-work-field", _sign_raw(_base(alice, works=[{**work, "title": "x"}]), alice),
         "RecordError"),
        ("missing-creator", _sign_raw({k: v for k, v in _base(alice).items()
                                       if k != "creator"}, alice), "RecordError"),
        ("version-is-string", _sign_raw(_base(alice, v="1"), alice), "RecordError"),
        ("withdraw-is-integer", _sign_raw(_base(alice, withdraw=1, prefs={}), alice),
         "RecordError"),
        ("version-is-bool", _sign_raw(_base(alice, v=True), alice), "RecordError"),
        # step 5: field rules and limits.
        ("version-2", _sign_raw(_base(alice, v=2), alice), "RecordError"),
        ("creator-not-did-key", _sign_raw(_base(alice, creator="did:web:example.com"), alice),
         "KeyFormatError"),
        ("negative-issued-at", _sign_raw(_base(alice, issued_at=-1), alice), "RecordError"),
        ("no-works", _sign_raw(_base(alice, works=[]), alice), "RecordError"),
        ("unsorted-works", _sign_raw(_base(alice, works=[{"sha256": s} for s in
                                                         reversed(sorted_works)]), alice),
         "RecordError"),
        ("duplicate-works", _sign_raw(_base(alice, works=[work, work]), alice), "RecordError"),
        ("uppercase-sha256", _sign_raw(_base(alice, works=[{"sha256": _sha("x").upper()}]),
                                       alice), "RecordError"),
        ("short-sha256", _sign_raw(_base(alice, works=[{"sha256": _sha("x")[:62]}]), alice),
         "RecordError"),
        ("pdq-without-quality", _sign_raw(_base(alice, works=[{**work, "pdq": _sha("p")}]),
                                          alice), "RecordError"),
        ("quality-without-pdq", _sign_raw(_base(alice, works=[{**work, "pdq_quality": 50}]),
                                          alice), "RecordError"),
        ("pdq-quality-101", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 101}]), alice), "RecordError"),
        ("pdq-variants-without-pdq", _sign_raw(_base(alice, works=[
            {**work, "pdq_variants": [_sha("v")]}]), alice), "RecordError"),
        ("pdq-variant-uppercase", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 80, "pdq_variants": [_sha("v").upper()]}]),
            alice), "RecordError"),
        ("pdq-variants-unsorted", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 80,
             "pdq_variants": sorted([_sha("v"), _sha("w")], reverse=True)}]), alice),
         "RecordError"),
        ("pdq-variant-repeats-pdq", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 80, "pdq_variants": [_sha("p")]}]),
            alice), "RecordError"),
        ("too-many-pdq-variants", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 80, "pdq_variants": sorted(
                _sha(f"v{i}") for i in range(records.MAX_PDQ_VARIANTS + 1))}]), alice),
         "LimitError"),
        ("iscc-lowercase", _sign_raw(_base(alice, works=[
            {**work, "iscc": "ISCC:kacypxw445ftynj3"}]), alice), "RecordError"),
        ("iscc-padded", _sign_raw(_base(alice, works=[
            {**work, "iscc": "ISCC:KACYPXW445FTYNJ3===="}]), alice), "RecordError"),
        ("url-not-normalised", _sign_raw(_base(alice, works=[
            {**work, "urls": ["HTTP://Example.com/"]}]), alice), "RecordError"),
        ("url-ftp", _sign_raw(_base(alice, works=[{**work, "urls": ["ftp://example.com/"]}]),
                              alice), "RecordError"),
        ("urls-unsorted", _sign_raw(_base(alice, works=[
            {**work, "urls": ["https://b.example/", "https://a.example/"]}]), alice),
         "RecordError"),
        ("urls-duplicate", _sign_raw(_base(alice, works=[
            {**work, "urls": ["https://a.example/", "https://a.example/"]}]), alice),
         "RecordError"),
        ("too-many-urls", _sign_raw(_base(alice, works=[{**work, "urls": sorted(
            f"https://example.com/{i:02d}" for i in range(records.MAX_URLS_PER_WORK + 1))}]),
            alice), "LimitError"),
        ("url-too-long", _sign_raw(_base(alice, works=[{**work, "urls": [oversize_url]}]),
                                   alice), "LimitError"),
        ("media-type-uppercase", _sign_raw(_base(alice, works=[
            {**work, "media_type": "image/PNG"}]), alice), "RecordError"),
        ("media-type-with-parameter", _sign_raw(_base(alice, works=[
            {**work, "media_type": "text/plain;charset=utf-8"}]), alice), "RecordError"),
        ("pref-key-uppercase", _sign_raw(_base(alice, prefs={"Train-AI": "n"}), alice),
         "PreferenceError"),
        ("pref-value-no", _sign_raw(_base(alice, prefs={"train-ai": "no"}), alice),
         "PreferenceError"),
        ("too-many-prefs", _sign_raw(_base(alice, prefs={
            f"cat{i:02d}": "n" for i in range(records.MAX_PREFS + 1)}), alice), "LimitError"),
        ("no-prefs", _sign_raw(_base(alice, prefs={}), alice), "RecordError"),
        ("withdrawal-with-prefs", _sign_raw(_base(alice, withdraw=True), alice), "RecordError"),
        ("supersedes-unsorted", _sign_raw(_base(alice, supersedes=list(reversed(sorted_works))),
                                          alice), "RecordError"),
        ("supersedes-not-an-id", _sign_raw(_base(alice, supersedes=["abc"]), alice),
         "RecordError"),
        ("unsigned", _json(_base(alice)), "SignatureError"),
        ("sig-not-base64", _json({**_base(alice), "sig": "not base64!"}), "SignatureError"),
        ("sig-wrong-length", _json({**_base(alice), "sig": b64encode(bytes(63))}),
         "SignatureError"),
        # step 6: default values written out.
        ("explicit-withdraw-false", _sign_raw(_base(alice, withdraw=False), alice),
         "NonCanonicalError"),
        ("explicit-empty-supersedes", _sign_raw(_base(alice, supersedes=[]), alice),
         "NonCanonicalError"),
        ("explicit-empty-urls", _sign_raw(_base(alice, works=[{**work, "urls": []}]), alice),
         "NonCanonicalError"),
        ("explicit-null-pdq", _sign_raw(_base(alice, works=[{**work, "pdq": None}]), alice),
         "NonCanonicalError"),
        ("explicit-empty-pdq-variants", _sign_raw(_base(alice, works=[
            {**work, "pdq": _sha("p"), "pdq_quality": 80, "pdq_variants": []}]), alice),
         "NonCanonicalError"),
        # spec §2.8: the signature.
        ("bad-signature", bytes(flipped_sig), "SignatureError"),
        ("signed-by-other-key", _sign_raw(_base(alice), bob), "SignatureError"),
        ("changed-after-signing", text.replace('"train-ai":"n"', '"train-ai":"y"').encode(),
         "SignatureError"),
    ]  # fmt: skip


def _replace_url_escape(entry: bytes) -> bytes:
    """Write the first "/" of the first URL as "\\/" (a non-canonical escape)."""
    position = entry.index(b"/", entry.index(b'"urls":["'))
    return entry[:position] + b"\\/" + entry[position + 1 :]


def _records() -> dict[str, object]:
    alice = keys.PrivateKey.from_seed(SEEDS["alice"])
    bob = keys.PrivateKey.from_seed(SEEDS["bob"])
    cases, entries = _valid_records(alice, bob)
    for name, entry, error in _invalid_records(alice, bob, entries):
        case: dict[str, object] = {"name": name, "result": "invalid"}
        try:
            case["entry"] = entry.decode("utf-8")
        except UnicodeDecodeError:
            case["entry_hex"] = entry.hex()
        case["error"] = _expect_error(error, records.load_record, entry)
        cases.append(case)
    return {
        "description": "Signed declarations (spec §2). entry is the log entry (UTF-8 text; "
        "entry_hex when not valid UTF-8). Valid cases: load_record (decode, spec §2.7, and "
        "verify, spec §2.8) accepts the entry; record_id is its SHA-256 (spec §2.9) and "
        "signing_input the bytes the signature covers. Invalid cases: load_record fails with "
        "the named error class. Keys: seeds SHA-256('consent-registry vectors: alice'/'bob').",
        "cases": cases,
    }


URL_CASES: list[tuple[str, str]] = [
    ("HTTP://Example.COM", "http://example.com/"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com:443/", "https://example.com/"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:443/", "http://example.com:443/"),
    ("https://example.com:80/", "https://example.com:80/"),
    ("https://example.com:08080/", "https://example.com:8080/"),
    ("https://example.com:/", "https://example.com/"),
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/a/b/c/./../../g", "https://example.com/a/g"),
    ("https://example.com/../../x", "https://example.com/x"),
    ("https://example.com/a/..", "https://example.com/"),
    ("https://example.com/a/.", "https://example.com/a/"),
    ("https://example.com/a//b/../c", "https://example.com/a//c"),
    ("https://example.com/%2e%2E/a/%2e/b", "https://example.com/a/b"),
    ("https://example.com/%7e%41%2d%5F%2e", "https://example.com/~A-_."),
    ("https://example.com/%2f%3a%20", "https://example.com/%2F%3A%20"),
    ("https://example.com/caf\u00e9 x", "RecordError"),
    ("https://example.com/caf\u00e9", "https://example.com/caf%C3%A9"),
    ("https://example.com/\U0001f600", "https://example.com/%F0%9F%98%80"),
    ('https://example.com/a"b<c>d\\e^f`g{h|i}j[k]', "https://example.com/a%22b%3Cc%3Ed%5Ce%5Ef%60g%7Bh%7Ci%7Dj%5Bk%5D"),
    ("https://example.com/?", "https://example.com/?"),
    ("https://example.com?b=2&a=1", "https://example.com/?b=2&a=1"),
    ("https://example.com/p?q=/../x?y", "https://example.com/p?q=/../x?y"),
    ("https://example.com/p?q=%7e%2b+x", "https://example.com/p?q=~%2B+x"),
    ("https://example.com/p?caf\u00e9", "https://example.com/p?caf%C3%A9"),
    ("https://example.com/p#frag", "https://example.com/p"),
    ("https://example.com/p?q#frag?x", "https://example.com/p?q"),
    ("https://example.com#", "https://example.com/"),
    ("https://EXAMPLE.com./", "https://example.com/"),
    ("https://example.com.:443/x", "https://example.com/x"),
    ("https://example.com../", "RecordError"),
    ("https://./", "RecordError"),
    ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
    ("https://my_host.example/", "https://my_host.example/"),
    ("https://192.0.2.1:8443/x", "https://192.0.2.1:8443/x"),
    ("https://[2001:DB8:0:0:0:0:0:1]:443/", "https://[2001:db8::1]/"),
    ("http://[::1]:8080", "http://[::1]:8080/"),
    ("https://b\u00fccher.example/", "RecordError"),
    ("ftp://example.com/", "RecordError"),
    ("mailto:someone@example.com", "RecordError"),
    ("example.com/path", "RecordError"),
    ("/relative/path", "RecordError"),
    ("https:example.com", "RecordError"),
    ("https:/example.com", "RecordError"),
    ("https://", "RecordError"),
    ("https:///path", "RecordError"),
    ("https://:443/", "RecordError"),
    ("https://user:pass@example.com/", "RecordError"),
    ("https://user@example.com/", "RecordError"),
    ("https://example.com:65536/", "RecordError"),
    ("https://example.com:0/", "RecordError"),
    ("https://example.com:x/", "RecordError"),
    ("https://example.com:-1/", "RecordError"),
    ("https://example..com/", "RecordError"),
    ("https://-example.com/", "RecordError"),
    ("https://exa%6dple.com/", "RecordError"),
    ("https://exa mple.com/", "RecordError"),
    (" https://example.com/", "RecordError"),
    ("https://example.com/\n", "RecordError"),
    ("https://example.com/\x7f", "RecordError"),
    ("https://example.com/%", "RecordError"),
    ("https://example.com/%4", "RecordError"),
    ("https://example.com/%zz", "RecordError"),
    ("https://example.com/?%G0", "RecordError"),
    ("https://[::1/", "RecordError"),
    ("https://[fe80::1%25eth0]/", "RecordError"),
    ("https://[not-ipv6]/", "RecordError"),
    ("https://example.com\\evil.com/", "RecordError"),
    ("https://example.com/" + "a" * 2028, "https://example.com/" + "a" * 2028),
    ("https://example.com/" + "a" * 2029, "LimitError"),
    ("https://example.com/" + "%61" * 600, "https://example.com/" + "a" * 600),
    ("https://example.com/" + "\u00e9" * 1000, "LimitError"),
]  # fmt: skip


def _urls() -> dict[str, object]:
    cases: list[dict[str, object]] = []
    for index, (url, expected) in enumerate(URL_CASES):
        if expected.endswith("Error"):
            cases.append({"name": f"url-{index:02d}", "input": url, "result": "invalid",
                          "error": _expect_error(expected, urls.normalize_url, url)})  # fmt: skip
            continue
        got = urls.normalize_url(url)
        assert got == expected, (url, got, expected)
        assert urls.normalize_url(got) == got, url  # idempotent
        cases.append({"name": f"url-{index:02d}", "input": url, "result": "valid",
                      "output": expected})  # fmt: skip
    return {
        "description": "URL normalisation (spec §2.5): input -> output, or the error class. "
        "normalize_url is idempotent: every output normalises to itself.",
        "cases": cases,
    }


def _trust_valid(
    alice: keys.PrivateKey,
    bob: keys.PrivateKey,
    node: keys.PrivateKey,
    platform: keys.PrivateKey,
) -> dict[str, bytes]:
    """One valid entry of each trust record kind (spec §9.3), plus the largest attestation."""
    a, b = alice.public_key.did, bob.public_key.did
    signed: list[tuple[str, records.TrustRecord, keys.PrivateKey]] = [
        ("binding", records.Binding(
            v=1, node=node.public_key.did, origin="registry.example/log", domain="alice.example",
            creator=a, issued_at=ISSUED_AT, evidence=_sha("did.json bytes")), node),
        ("binding-lapsed", records.Binding(
            v=1, node=node.public_key.did, origin="registry.example/log", domain="alice.example",
            creator=a, issued_at=ISSUED_AT + 86400, evidence=_sha("404"), lapsed=True), node),
        ("platform-attestation", records.PlatformAttestation(
            v=1, platform=platform.public_key.did, account="@alice", creator=a,
            issued_at=ISSUED_AT, hashes=records.pack_hashes(_sha(f"upload-{i}") for i in range(3)),
            works=(records.new_work(_sha("upload-pdq"), pdq=_sha("pdq"), pdq_quality=90,
                                    urls=["https://art.example/@alice/1"]),)), platform),
        ("platform-account-only", records.PlatformAttestation(
            v=1, platform=platform.public_key.did, account="alice", creator=a,
            issued_at=ISSUED_AT), platform),
        ("rotation", records.Rotation(v=1, creator=a, new_key=b, issued_at=ISSUED_AT), alice),
        ("revocation", records.Revocation(
            v=1, creator=a, key=a, since=ISSUED_AT - 3600, issued_at=ISSUED_AT), alice),
        ("revocation-by-platform", records.Revocation(
            v=1, creator=platform.public_key.did, key=a, since=ISSUED_AT, issued_at=ISSUED_AT),
         platform),
        ("counter-statement", records.CounterStatement(
            v=1, creator=a, target=_sha("a stranger's declaration"),
            statement="not-rightsholder", issued_at=ISSUED_AT), alice),
        ("largest-packed-attestation", _largest_attestation(platform, a), platform),
    ]  # fmt: skip
    return {name: records.encode_record(records.sign_record(r, k)) for name, r, k in signed}


def _largest_attestation(platform: keys.PrivateKey, creator: str) -> records.PlatformAttestation:
    """The attestation with the most packed hashes that fits MAX_ENTRY_BYTES (spec §9.3.2)."""
    digests = sorted(_sha(f"bulk-{i}") for i in range(records.MAX_ATTESTED_HASHES))
    count = len(digests)
    while True:
        record = records.PlatformAttestation(
            v=1, platform=platform.public_key.did, account="@alice", creator=creator,
            issued_at=ISSUED_AT, hashes=records.pack_hashes(digests[:count]),
        )  # fmt: skip
        if records.entry_size(record) <= records.MAX_ENTRY_BYTES:
            return record
        count -= 1


def _trust_invalid(
    alice: keys.PrivateKey,
    bob: keys.PrivateKey,
    node: keys.PrivateKey,
    platform: keys.PrivateKey,
    valid: dict[str, bytes],
) -> list[tuple[str, bytes, str]]:
    def edit(name: str, signer: keys.PrivateKey, **changes: object) -> bytes:
        value = cast("dict[str, object]", encoding.parse_json(valid[name]))
        value.update(changes)
        for key in [k for k, v in changes.items() if v is None]:
            del value[key]
        return _sign_raw(value, signer)

    two = sorted(_sha(f"upload-{i}") for i in range(2))
    unsorted = b64encode(b"".join(bytes.fromhex(d) for d in reversed(two)))
    work = {"sha256": two[0]}
    return [
        ("unknown-type", edit("rotation", alice, type="key-rotation"), "RecordError"),
        ("binding-version-2", edit("binding", node, v=2), "RecordError"),
        ("binding-missing-evidence", edit("binding", node, evidence=None), "RecordError"),
        ("binding-node-not-did-key", edit("binding", node, node="did:web:registry.example"),
         "KeyFormatError"),
        ("binding-origin-with-space", edit("binding", node, origin="registry example"),
         "RecordError"),
        ("binding-domain-uppercase", edit("binding", node, domain="Alice.example"),
         "RecordError"),
        ("binding-domain-with-port", edit("binding", node, domain="alice.example:443"),
         "RecordError"),
        ("binding-domain-trailing-dot", edit("binding", node, domain="alice.example."),
         "RecordError"),
        ("binding-domain-ip", edit("binding", node, domain="192.0.2.1"), "RecordError"),
        ("binding-domain-too-long", edit("binding", node, domain=".".join(["a" * 63] * 4)),
         "RecordError"),
        ("binding-creator-not-did-key", edit("binding", node, creator="alice"),
         "KeyFormatError"),
        ("binding-negative-time", edit("binding", node, issued_at=-1), "RecordError"),
        ("binding-evidence-uppercase", edit("binding", node, evidence=_sha("x").upper()),
         "RecordError"),
        ("binding-explicit-lapsed-false", edit("binding", node, lapsed=False),
         "NonCanonicalError"),
        ("binding-signed-by-creator", edit("binding", alice), "SignatureError"),
        ("attestation-account-empty", edit("platform-account-only", platform, account=""),
         "RecordError"),
        ("attestation-account-quote", edit("platform-account-only", platform, account='a"b'),
         "RecordError"),
        ("attestation-account-too-long", edit("platform-account-only", platform,
                                              account="a" * 129), "RecordError"),
        ("attestation-creator-not-did-key", edit("platform-account-only", platform,
                                                 creator="did:key:zz"), "KeyFormatError"),
        ("attestation-hashes-not-base64", edit("platform-account-only", platform,
                                               hashes="not base64"), "RecordError"),
        ("attestation-hashes-partial-digest", edit("platform-account-only", platform,
                                                   hashes=b64encode(bytes(31))), "RecordError"),
        ("attestation-hashes-unsorted", edit("platform-account-only", platform,
                                             hashes=unsorted), "RecordError"),
        ("attestation-hash-also-in-works", edit(
            "platform-account-only", platform, hashes=records.pack_hashes(two[:1]),
            works=[work]), "RecordError"),
        ("attestation-works-unsorted", edit("platform-account-only", platform, works=[
            {"sha256": d} for d in reversed(two)]), "RecordError"),
        ("attestation-work-url-not-normalised", edit("platform-account-only", platform, works=[
            {**work, "urls": ["HTTPS://art.example/"]}]), "RecordError"),
        ("attestation-explicit-empty-hashes", edit("platform-account-only", platform,
                                                   hashes=""), "NonCanonicalError"),
        ("attestation-explicit-empty-works", edit("platform-account-only", platform,
                                                  works=[]), "NonCanonicalError"),
        ("attestation-signed-by-creator", edit("platform-account-only", alice),
         "SignatureError"),
        ("rotation-to-itself", edit("rotation", alice, new_key=alice.public_key.did),
         "RecordError"),
        ("rotation-new-key-not-did-key", edit("rotation", alice, new_key="did:key:z6Mk"),
         "KeyFormatError"),
        ("rotation-issued-at-float", valid["rotation"].replace(
            f'"issued_at":{ISSUED_AT}'.encode(), f'"issued_at":{ISSUED_AT}.0'.encode()),
         "EncodingError"),
        ("rotation-signed-by-new-key", edit("rotation", bob), "SignatureError"),
        ("revocation-since-after-issued-at", edit("revocation", alice, since=ISSUED_AT + 1),
         "RecordError"),
        ("revocation-negative-since", edit("revocation", alice, since=-1), "RecordError"),
        ("revocation-key-not-did-key", edit("revocation", alice, key="x"), "KeyFormatError"),
        ("counter-statement-unknown-statement", edit("counter-statement", alice,
                                                     statement="fake"), "RecordError"),
        ("counter-statement-target-not-an-id", edit("counter-statement", alice, target="abc"),
         "RecordError"),
        ("counter-statement-unsigned", _json({k: v for k, v in cast(
            "dict[str, object]", encoding.parse_json(valid["counter-statement"])).items()
            if k != "sig"}), "SignatureError"),
        ("oversize-attestation", _sign_raw({
            **cast("dict[str, object]", encoding.parse_json(valid["platform-account-only"])),
            "hashes": records.pack_hashes(_sha(f"bulk-{i}") for i in range(1600))}, platform),
         "LimitError"),
    ]  # fmt: skip


def _trust_records() -> dict[str, object]:
    alice, bob, node, platform = (
        keys.PrivateKey.from_seed(SEEDS[name]) for name in ("alice", "bob", "node", "platform")
    )
    valid = _trust_valid(alice, bob, node, platform)
    cases: list[dict[str, object]] = []
    for name, entry in valid.items():
        record = records.load_entry(entry)
        case: dict[str, object] = {
            "name": name, "entry": entry.decode("ascii"), "result": "valid",
            "type": record.__struct_config__.tag, "signer": records.signer_of(record),
            "record_id": records.record_id(entry),
            "signing_input": records.signing_input(record).decode("ascii"), "size": len(entry),
        }  # fmt: skip
        if isinstance(record, records.PlatformAttestation):
            case["hashes"] = len(records.attested_hashes(record))
        cases.append(case)
        _expect_error("RecordError", records.load_record, entry)  # not a declaration
    for name, entry, error in _trust_invalid(alice, bob, node, platform, valid):
        cases.append({"name": name, "entry": entry.decode("utf-8"), "result": "invalid",
                      "error": _expect_error(error, records.load_entry, entry)})  # fmt: skip
    return {
        "description": "Trust records (spec §9.3): bindings, platform attestations, rotations, "
        "revocations, counter-statements. Valid cases: load_entry (decode, spec §2.7, and "
        "verify by the signer, spec §2.8, §9.3) accepts the entry; signer is the did:key whose "
        "signature it carries; hashes counts the packed SHA-256 digests of an attestation. "
        "Invalid cases: load_entry fails with the named error class. Keys: seeds "
        "SHA-256('consent-registry vectors: alice'/'bob'/'node'/'platform').",
        "cases": cases,
    }


def generate() -> dict[str, object]:
    """Return every vector file of spec §1, §2 and §9.3, keyed by file name."""
    return {
        "keys.json": _keys(),
        "canonical-json.json": _canonical_json(),
        "records.json": _records(),
        "urls.json": _urls(),
        "trust-records.json": _trust_records(),
    }
