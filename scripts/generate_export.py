#!/usr/bin/env python3
"""Generate a realistic Segment S3 archive export for nudge-ingest.

Layout, as Segment's S3 destination writes it:

    OUT/segment-logs/<source-id>/<received-day-epoch-ms>/<epoch-ms>.<random-hex>.gz

Each file is gzip-compressed NDJSON, one event a line, '\\n' endings. Files sort
bytewise in the order they were written (all day folders and file names are
13-digit epoch milliseconds), which is the order nudge-ingest reads them in.

With --manifest, every physical line written gets one TSV row

    relative_path <TAB> line <TAB> expected

where relative_path is relative to --out, line is the 1-based physical line of the
decompressed file, and expected is `skip` (blank line), `accepted:identify`,
`accepted:track` or `dropped:<reason>`. The expected outcome is computed by
applying the ingestion contract (docs/contract.md) to the generated records in
reading order, with identity state and seen messageIds carried across files.
A truncated gzip file (--truncate-last) adds a row `relative_path<TAB>-<TAB>corrupt_input`.

The output is a pure function of the arguments (seeded random.Random, gzip
headers with mtime 0). Standard library only.
"""

import argparse
import datetime
import json
import os
import random
import re
import sys
import time
import zlib

MIB = 1 << 20

# ---------------------------------------------------------------------------
# The contract, as far as the manifest needs it
# ---------------------------------------------------------------------------

# Unicode White_Space (PropList.txt).
WHITE_SPACE = frozenset(
    [chr(c) for c in range(0x09, 0x0E)]
    + ["\u0020", "\u0085", "\u00a0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)


def is_blank(s):
    for ch in s:
        if ch not in WHITE_SPACE:
            return False
    return True


RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]+)?(?:[Zz]|[+-]([0-9]{2}):?([0-9]{2}))"
)


def is_rfc3339(v):
    if not isinstance(v, str):
        return False
    m = RFC3339.fullmatch(v)
    if m is None:
        return False
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    if not 1 <= mo <= 12 or h > 23 or mi > 59 or s > 59:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    dim = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[mo - 1]
    if not 1 <= d <= dim:
        return False
    if m.group(7) is not None and (int(m.group(7)) > 23 or int(m.group(8)) > 59):
        return False
    return True


def ext_id(user_id_text):
    # Python's str.lower() is the full Unicode lowercase mapping with the
    # final-sigma rule, like JavaScript's toLowerCase().
    return user_id_text.replace(" ", "_").lower()


class Contract:
    """Rules 4-13 of the contract over a parsed JSON value (Python object)."""

    def __init__(self):
        self.links = {}  # key -> (ext_id, origin)
        self.identified = set()
        self.seen = set()

    @staticmethod
    def user_id(obj):
        """('ok', ext) | ('blank', None) | ('invalid', None)."""
        u = obj.get("userId")
        if u is None:
            return "blank", None
        if isinstance(u, str):
            return ("blank", None) if is_blank(u) else ("ok", ext_id(u))
        if isinstance(u, bool) or not isinstance(u, int):
            return "invalid", None
        return "ok", str(u)

    @staticmethod
    def _anon(obj):
        a = obj.get("anonymousId")
        if isinstance(a, str) and not is_blank(a):
            return a
        return None

    def resolve(self, anon):
        link = self.links.get(anon)
        if link is None:
            link = self.links.get(anon.lower())
        return link

    def decide(self, obj):
        if not isinstance(obj, dict):
            return "dropped:not_an_object"
        mid = obj.get("messageId")
        if isinstance(mid, str):
            if mid in self.seen:
                return "dropped:duplicate_message_id"
            self.seen.add(mid)
        t = obj.get("type")
        if not isinstance(t, str):
            return "dropped:missing_type"
        if t != "identify" and t != "track":
            if t == "alias":
                st, ext = self.user_id(obj)
                prev = obj.get("previousId")
                if st == "ok" and isinstance(prev, str) and not is_blank(prev):
                    self.links[prev] = (ext, "alias")
            return "dropped:unsupported_type"
        st, ext = self.user_id(obj)
        if t == "identify":
            if st == "invalid":
                return "dropped:invalid_user_id"
            if st == "blank":
                return "dropped:anonymous_only" if self._anon(obj) else "dropped:missing_user_id"
            self.identified.add(ext)
            anon = self._anon(obj)
            if anon is not None:
                self.links[anon] = (ext, "anonymous_id")
            traits = obj.get("traits")
            if isinstance(traits, dict):
                email = traits.get("email")
                if isinstance(email, str) and not is_blank(email):
                    self.links[email.lower()] = (ext, "email")
            return "accepted:identify"
        ev = obj.get("event")
        if not isinstance(ev, str) or is_blank(ev):
            return "dropped:missing_event"
        if st == "invalid":
            return "dropped:invalid_user_id"
        if st == "blank":
            anon = self._anon(obj)
            if anon is None:
                return "dropped:missing_user_id"
            link = self.resolve(anon)
            if link is None:
                return "dropped:anonymous_only"
            ext = link[0]
        if not is_rfc3339(obj.get("timestamp")):
            return "dropped:invalid_timestamp"
        if ext not in self.identified:
            return "dropped:not_identified"
        return "accepted:track"


REASONS = [
    "line_too_long", "malformed_json", "not_an_object", "duplicate_message_id",
    "missing_type", "unsupported_type", "missing_user_id", "anonymous_only",
    "invalid_user_id", "missing_event", "invalid_timestamp", "not_identified",
]

# ---------------------------------------------------------------------------
# Realistic content
# ---------------------------------------------------------------------------

# name, email local part, locale, timezone, UTC offset in March (minutes),
# city, country, street, postal code, phone
PERSONAS = [
    ("Zoë Ågren", "zoe.agren", "sv-SE", "Europe/Stockholm", 60, "Stockholm", "SE", "Götgatan 14", "116 46", "+46 8 555 012 34"),
    ("Δήμητρα Παπαδοπούλου", "dimitra.papadopoulou", "el-GR", "Europe/Athens", 120, "Αθήνα", "GR", "Οδός Ερμού 21", "105 63", "+30 21 0555 0198"),
    ("山田太郎", "taro.yamada", "ja-JP", "Asia/Tokyo", 540, "東京都渋谷区", "JP", "道玄坂1-2-3", "150-0043", "+81 3-5555-0142"),
    ("Jürgen Weiß", "juergen.weiss", "de-DE", "Europe/Berlin", 60, "Berlin", "DE", "Straße des 17. Juni 135", "10623", "+49 30 5550187"),
    ("Priya Raghunathan", "priya.raghunathan", "en-IN", "Asia/Kolkata", 330, "Bengaluru", "IN", "12th Main Rd, Indiranagar", "560038", "+91 80 5550 1234"),
    ("José Álvarez Núñez", "jose.alvarez", "es-MX", "America/Mexico_City", -360, "Ciudad de México", "MX", "Av. Insurgentes Sur 1457", "03920", "+52 55 5555 0133"),
    ("Łucja Żółkiewska", "lucja.zolkiewska", "pl-PL", "Europe/Warsaw", 60, "Kraków", "PL", "ul. Floriańska 7", "31-019", "+48 12 555 01 77"),
    ("Nguyễn Thị Minh Khai", "minhkhai.nguyen", "vi-VN", "Asia/Ho_Chi_Minh", 420, "Thành phố Hồ Chí Minh", "VN", "45 Lê Lợi, Quận 1", "700000", "+84 28 5555 0166"),
    ("Søren Møller", "soren.moller", "da-DK", "Europe/Copenhagen", 60, "København", "DK", "Nørrebrogade 52", "2200", "+45 55 55 01 29"),
    ("Amélie Laurent", "amelie.laurent", "fr-FR", "Europe/Paris", 60, "Paris", "FR", "12 rue de l’Abbé Grégoire", "75006", "+33 1 55 55 01 42"),
    ("Olúṣẹgun Adébáyọ̀", "olusegun.adebayo", "en-NG", "Africa/Lagos", 60, "Lagos", "NG", "14 Adeola Odeku St", "101241", "+234 1 555 0190"),
    ("Chloé O'Brien", "chloe.obrien", "en-IE", "Europe/Dublin", 0, "Dublin", "IE", "3 Grafton Street", "D02 XY45", "+353 1 555 0111"),
    ("Мария Иванова", "maria.ivanova", "ru-RU", "Europe/Moscow", 180, "Москва", "RU", "ул. Тверская, 7", "125009", "+7 495 555-01-23"),
    ("김민준", "minjun.kim", "ko-KR", "Asia/Seoul", 540, "서울특별시", "KR", "세종대로 110", "04524", "+82 2-555-0175"),
    ("Emily Carter", "emily.carter", "en-US", "America/New_York", -240, "Brooklyn", "US", "221 Atlantic Ave", "11201", "+1 718-555-0134"),
    ("Lucas Oliveira", "lucas.oliveira", "pt-BR", "America/Sao_Paulo", -180, "São Paulo", "BR", "Av. Paulista, 1578", "01310-200", "+55 11 5555-0199"),
    ("محمد العلي", "mohammed.alali", "ar-AE", "Asia/Dubai", 240, "دبي", "AE", "شارع الشيخ زايد", "00000", "+971 4 555 0102"),
    ("Ngaio Te Rangi", "ngaio.terangi", "en-NZ", "Pacific/Auckland", 780, "Wellington", "NZ", "18 Cuba Street", "6011", "+64 4-555 0147"),
    ("Ayşe Yılmaz", "ayse.yilmaz", "tr-TR", "Europe/Istanbul", 180, "İstanbul", "TR", "İstiklal Cd. No:88", "34430", "+90 212 555 01 63"),
    ("Sita Shrestha", "sita.shrestha", "ne-NP", "Asia/Kathmandu", 345, "काठमाडौं", "NP", "Durbar Marg", "44600", "+977 1-5550188"),
]

EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "acme.example", "posteo.example"]
PLANS = ["free", "starter", "pro", "business", "enterprise"]
COMPANIES = [("Initech GmbH", "Technology", 329), ("Brauerei Höfner KG", "Food & Beverage", 58),
             ("株式会社サンプル", "Retail", 1200), ("Ωmega Λογιστική Α.Ε.", "Finance", 41),
             ("Café Crème SARL", "Hospitality", 12), ("Nordlys AS", "Energy", 740)]

WEB_UAS = [
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
     {"brands": [{"brand": "Chromium", "version": "122"}, {"brand": "Not(A:Brand", "version": "24"}, {"brand": "Google Chrome", "version": "122"}], "mobile": False, "platform": "macOS"}),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.80",
     {"brands": [{"brand": "Chromium", "version": "122"}, {"brand": "Not(A:Brand", "version": "24"}, {"brand": "Microsoft Edge", "version": "122"}], "mobile": False, "platform": "Windows"}),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0", None),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3.1 Safari/605.1.15", None),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.105 Mobile Safari/537.36",
     {"brands": [{"brand": "Chromium", "version": "122"}, {"brand": "Not(A:Brand", "version": "24"}, {"brand": "Google Chrome", "version": "122"}], "mobile": True, "platform": "Android"}),
]

SITE = "https://www.acme-shop.example"
PAGES = [
    ("/", "Acme – Kaffee, Tee & mehr"),
    ("/pricing", "Pricing | Acme"),
    ("/de/produkte/kaffeemuehle-bohne", "Kaffeemühle „Bohne“ – Acme"),
    ("/ja/products/matcha-set", "抹茶セット | Acme"),
    ("/el/blog/ellinikos-kafes", "Ελληνικός καφές: ο οδηγός | Acme"),
    ("/checkout/shipping", "Checkout – Versand"),
    ("/account/settings", "Account settings"),
    ("/blog/2025/03/brew-guide", "The 2025 brew guide ☕ | Acme Blog"),
    ("/search", "Suche: „crème brûlée“"),
    ("/products/cold-brew-kit", "Cold Brew Kit — Acme"),
]
REFERRERS = ["", "https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/",
             "https://www.instagram.com/", "https://t.co/Xk2pQ9", "https://www.bing.com/search?q=acme+kaffee"]
SEARCHES = ["", "", "", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale",
            "?ref=producthunt", "?gclid=Cj0KCQiA5rGuBhCnARIsAN11vgQ"]
CAMPAIGNS = [{"name": "spring_sale", "source": "newsletter", "medium": "email", "term": "kaffee", "content": "hero-banner"},
             {"name": "brand_search_de", "source": "google", "medium": "cpc", "term": "acme kaffeemühle", "content": "ad-group-3"}]

PRODUCTS = [
    ("prod_8fK2", "KM-BOHNE-01", "Kaffeemühle „Bohne“", "Küche", "Acme", 89.0),
    ("prod_1xQ9", "MT-SET-02", "抹茶セット (Matcha-Set)", "Tee", "Kyōto Leaf", 42.5),
    ("prod_7Lm3", "CB-KIT-03", "Cold Brew Kit 1 L", "Zubehör", "Acme", 34.99),
    ("prod_3Zp0", "EK-CUP-04", "Μπρίκι για ελληνικό καφέ", "Zubehör", "Kafeneio", 24.9),
    ("prod_5Tg6", "CC-BEAN-05", "Café Crème Bohnen 1 kg", "Kaffee", "Rösterei Süd", 19.95),
    ("prod_9Rw1", "HP-ANC-06", "🎧 Kopfhörer ANC", "Audio", "Søndergaard", 149.0),
]
SEARCH_QUERIES = ["crème brûlée", "kaffeemühle elektrisch", "抹茶", "ελληνικός καφές", "cold brew", "entkalker", "Ørsted mug"]
FEATURES = [("Bulk Export", "Reports"), ("Smart Segments", "Audiences"), ("Zeitplan", "Kampagnen"), ("A/B Test", "Experiments")]
EMAIL_SUBJECTS = ["Dein Warenkorb wartet ☕", "Spring sale – 20 % auf alles", "Ihre Bestellung #{} ist unterwegs",
                  "ようこそ Acme へ", "Καλώς ήρθατε!"]
SCREENS = ["Home", "Produktdetails", "Warenkorb", "Checkout", "Einstellungen", "Suche"]
INTEGRATIONS = [{}, {}, {"All": True}, {"All": True, "Mixpanel": False, "Salesforce": False},
                {"All": False, "Amplitude": True, "Google Analytics 4": True}]
LONG_PHRASE = "Lorem ipsum dolor sit amet – Zoë Ågren, 山田太郎, Δήμητρα. "
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_ymd_cache = {}


def iso(ms, off=None, colon=True, frac=3):
    """ms since the epoch as RFC 3339: UTC with Z, or local time with an offset."""
    t = ms if off is None else ms + off * 60000
    days, rem = divmod(t, 86400000)
    d = _ymd_cache.get(days)
    if d is None:
        d = (datetime.date(1970, 1, 1) + datetime.timedelta(days=days)).isoformat()
        _ymd_cache[days] = d
    s, msr = divmod(rem, 1000)
    h, s = divmod(s, 3600)
    mi, s = divmod(s, 60)
    if frac == 3:
        base = "%sT%02d:%02d:%02d.%03d" % (d, h, mi, s, msr)
    elif frac == 0:
        base = "%sT%02d:%02d:%02d" % (d, h, mi, s)
    else:
        base = "%sT%02d:%02d:%02d.%03d%03d" % (d, h, mi, s, msr, (ms * 7919) % 1000)
    if off is None:
        return base + "Z"
    sign = "+" if off >= 0 else "-"
    a = abs(off)
    return "%s%s%02d%s%02d" % (base, sign, a // 60, ":" if colon else "", a % 60)


NULL = object()  # an explicit JSON null where None means "leave the key out"

DUMPS = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode
DUMPS_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=True).encode


class Device:
    __slots__ = ("kind", "anon", "ctx", "ua")


class User:
    __slots__ = ("idx", "uid", "alt_uid", "ext", "persona", "email", "traits_email", "devices",
                 "plan", "created", "logins", "phone", "company", "legacy", "legacy_due", "alt_due", "never_identifies",
                 "weight", "group_id")


class Generator:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.model = Contract()
        self.pool = []  # (messageId, line text) of lines that parsed as objects
        rng = self.rng
        self.source_id = args.source_id or "".join(rng.choice(B62) for _ in range(10))
        self.long_text = None
        self.ghost_n = 0
        self.make_users()

    # -- ids -----------------------------------------------------------------
    def uuid(self):
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%x%s-%s" % (h[:8], h[8:12], h[13:16], 8 + (int(h[16], 16) & 3), h[17:20], h[20:32])

    def message_id(self, lib):
        if lib == "web":
            return "ajs-next-%d-%s" % (1741000000000 + self.rng.getrandbits(28), self.uuid()) if self.rng.random() < 0.5 \
                else "ajs-%032x" % self.rng.getrandbits(128)
        if lib == "ios":
            return self.uuid().upper()
        if lib == "node":
            return "node-next-%d-%s" % (1741000000000 + self.rng.getrandbits(28), "".join(self.rng.choice(B62) for _ in range(12)))
        return self.uuid()

    # -- users ---------------------------------------------------------------
    def make_users(self):
        rng = self.rng
        n = max(1, self.a.users)
        users = []
        exts = set()
        for i in range(n):
            u = User()
            u.idx = i
            p = PERSONAS[rng.randrange(len(PERSONAS))]
            u.persona = p
            dom = EMAIL_DOMAINS[rng.randrange(len(EMAIL_DOMAINS))]
            u.email = "%s%d@%s" % (p[1], i, dom)
            r = rng.random()
            if r < 0.15:  # mixed case as typed in a sign-up form
                loc, _, d = u.email.partition("@")
                u.traits_email = ".".join(w[:1].upper() + w[1:] for w in loc.split(".")) + "@" + d.capitalize()
            else:
                u.traits_email = u.email
            # user id shapes: strings, integers (JSON numbers), ids with spaces/capitals, emails
            k = i % 10 if n >= 10 else rng.randrange(10)
            alt = None
            if i == 2:
                uid = 98765432109876543210123  # an integer beyond 64 bits
                alt = str(uid)
            elif i == 5:
                uid = "ΟΔΟΣ %d" % i  # final sigma: ext_id "οδος_5"
                alt = "οδος_%d" % i
            elif k in (0, 4, 7):
                uid = "usr_" + "".join(rng.choice(B62) for _ in range(10))
            elif k == 1:
                uid = "%013x" % rng.getrandbits(52)
            elif k == 2:
                uid = self.uuid()
            elif k in (3, 8):
                uid = rng.randrange(10000, 99999999)
                alt = str(uid) if rng.random() < 0.5 else None
            elif k == 5:
                uid = rng.choice(["User %d", "Customer %d", "ACME Corp %d", "Team Lead %d"]) % (1000 + i)
                alt = ext_id(uid)
            else:
                uid = u.traits_email if u.traits_email != u.email else u.email.capitalize()
                alt = u.email
            u.uid = uid
            u.alt_uid = alt
            u.ext = str(uid) if isinstance(uid, int) else ext_id(uid)
            if u.ext in exts:
                u.uid = uid = "usr_%d_%s" % (i, "".join(rng.choice(B62) for _ in range(6)))
                u.ext = ext_id(uid)
                u.alt_uid = None
            exts.add(u.ext)
            u.devices = []
            nd = 1 + (rng.random() < 0.35) + (rng.random() < 0.1)
            for j in range(nd):
                u.devices.append(self.make_device(u, "web" if j == 0 and rng.random() < 0.75 else rng.choice(["ios", "android", "web"])))
            u.plan = rng.choice(PLANS)
            u.created = 1700000000000 + rng.randrange(40000000000)
            u.logins = rng.randrange(1, 40)
            u.phone = p[9] if rng.random() < 0.85 else int("".join(ch for ch in p[9] if ch.isdigit()))
            u.company = rng.choice(COMPANIES) if rng.random() < 0.4 else None
            u.group_id = "grp_" + "".join(rng.choice(B62) for _ in range(8))
            u.legacy = None
            u.legacy_due = False
            u.alt_due = u.alt_uid is not None
            u.never_identifies = rng.random() < 0.08
            u.weight = 1.0 / (1 + rng.random() * 6) ** 1.3
            users.append(u)
        self.users = users
        acc = 0.0
        self.cum = []
        for u in users:
            acc += u.weight
            self.cum.append(acc)
        self.ext_ids = exts

    def make_device(self, u, kind):
        rng = self.rng
        p = u.persona
        d = Device()
        d.kind = kind
        ip = "%d.%d.%d.%d" % (rng.choice([31, 46, 81, 89, 103, 177, 185, 203]), rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        if kind == "web":
            d.anon = self.uuid()
            ua, uad = WEB_UAS[rng.randrange(len(WEB_UAS))]
            ctx = {"ip": ip, "library": {"name": "analytics.js", "version": "npm:next-1.%d.%d" % (rng.randrange(60, 72), rng.randrange(4))},
                   "locale": p[2], "page": None, "timezone": p[3], "userAgent": ua}
            if uad is not None and rng.random() < 0.3:
                ctx["userAgentData"] = uad
            if rng.random() < 0.1:
                ctx["campaign"] = CAMPAIGNS[rng.randrange(len(CAMPAIGNS))]
        elif kind == "ios":
            d.anon = self.uuid().upper()
            model = rng.choice(["iPhone15,2", "iPhone14,5", "iPad13,4", "iPhone16,1"])
            osv = rng.choice(["17.3.1", "17.4", "16.7.5"])
            ctx = {"app": {"build": str(rng.randrange(400, 460)), "name": "Acme", "namespace": "com.acme.shop", "version": "4.%d.0" % rng.randrange(8, 14)},
                   "device": {"adTrackingEnabled": False, "id": self.uuid().upper(), "manufacturer": "Apple", "model": model, "name": "iPhone", "type": "ios"},
                   "ip": ip, "library": {"name": "analytics-ios", "version": "4.1.8"}, "locale": p[2],
                   "network": {"carrier": rng.choice(["Telekom.de", "NTT DOCOMO", "T-Mobile", "Vodafone", ""]), "cellular": False, "wifi": True},
                   "os": {"name": "iOS", "version": osv}, "screen": {"density": 3, "height": 844, "width": 390},
                   "timezone": p[3], "traits": {}, "userAgent": "Acme/4.12 (iPhone; iOS %s; Scale/3.00)" % osv}
        else:
            d.anon = self.uuid()
            osv = rng.choice(["14", "13", "12"])
            ctx = {"app": {"build": str(rng.randrange(4000, 4600)), "name": "Acme", "namespace": "com.acme.shop", "version": "4.%d.1" % rng.randrange(8, 14)},
                   "device": {"adTrackingEnabled": True, "advertisingId": self.uuid(), "id": "%016x" % rng.getrandbits(64),
                              "manufacturer": rng.choice(["Google", "samsung", "Xiaomi"]), "model": rng.choice(["Pixel 8", "SM-S911B", "2201116SG"]), "name": "husky", "type": "android"},
                   "ip": ip, "library": {"name": "analytics-android", "version": "4.11.3"}, "locale": p[2].replace("-", "_"),
                   "network": {"bluetooth": False, "carrier": rng.choice(["Vodafone.de", "Jio 4G", "Orange F", ""]), "cellular": True, "wifi": False},
                   "os": {"name": "Android", "version": osv}, "screen": {"density": 2.75, "height": 2205, "width": 1080},
                   "timezone": p[3], "traits": {"anonymousId": d.anon}, "userAgent": "Dalvik/2.1.0 (Linux; U; Android %s; Pixel 8 Build/UQ1A.240205.004)" % osv}
        d.ctx = ctx
        return d

    def pick_user(self):
        return self.users[self.rng.choices(range(len(self.users)), cum_weights=self.cum)[0]] if len(self.users) > 1 else self.users[0]

    # -- event bodies ----------------------------------------------------------
    def context(self, dev):
        ctx = dev.ctx
        if dev.kind == "web":
            rng = self.rng
            path, title = PAGES[rng.randrange(len(PAGES))]
            search = SEARCHES[rng.randrange(len(SEARCHES))]
            ctx = dict(ctx)
            ctx["page"] = {"path": path, "referrer": REFERRERS[rng.randrange(len(REFERRERS))], "search": search,
                           "title": title, "url": SITE + path + search}
        return ctx

    def times(self, t, u, dev):
        """(originalTimestamp, sentAt, receivedAt, timestamp) strings for an event received at t."""
        rng = self.rng
        latency = rng.randrange(15, 900)
        skew = rng.randrange(-1500, 1500) if dev is None or dev.kind == "web" else rng.randrange(-90000, 3000)
        sent = t - latency
        orig = sent + skew if skew < 0 else sent - rng.randrange(0, 400)
        ts = t - (sent - orig)
        r = rng.random()
        off = u.persona[4] if u is not None else 0
        if r < 0.07:
            ts_s = iso(ts, off)              # numeric offset, e.g. +05:30
        elif r < 0.09:
            ts_s = iso(ts, off, colon=False)  # +0530
        elif r < 0.10:
            ts_s = iso(ts, None, frac=6)      # microseconds
        elif r < 0.11:
            ts_s = iso(ts, None, frac=0)      # no fraction
        else:
            ts_s = iso(ts)
        orig_s = iso(orig, off) if dev is not None and dev.kind != "web" and rng.random() < 0.5 else iso(orig)
        return orig_s, iso(sent), iso(t), ts_s

    def envelope(self, typ, u, dev, t, user_id=..., anon=..., lib=None):
        """A full Segment envelope; fields after it are added by the caller."""
        rng = self.rng
        orig, sent, recv, ts = self.times(t, u, dev)
        o = {}
        if dev is not None and dev.kind == "web" and rng.random() < 0.1:
            o["_metadata"] = {"bundled": ["Segment.io"], "unbundled": ["Google Analytics 4"]}
        a = (dev.anon if dev is not None else None) if anon is ... else anon
        if a is not None:
            o["anonymousId"] = a
        if dev is None:
            o["channel"] = "server"
            o["context"] = {"library": {"name": "analytics-node", "version": "2.1.2"}} if lib != "python" else \
                {"library": {"name": "analytics-python", "version": "2.3.2"}}
        else:
            o["channel"] = "client" if dev.kind == "web" else "mobile"
            o["context"] = self.context(dev)
        o["integrations"] = INTEGRATIONS[rng.randrange(len(INTEGRATIONS))]
        o["messageId"] = self.message_id(lib or "node" if dev is None else dev.kind)
        o["originalTimestamp"] = orig
        o["receivedAt"] = recv
        o["sentAt"] = sent
        o["timestamp"] = ts
        o["type"] = typ
        uid = (u.uid if u is not None else None) if user_id is ... else user_id
        if uid is NULL:
            o["userId"] = None
        elif uid is not None:
            o["userId"] = uid
        o["version"] = 2
        return o

    def traits(self, u, t):
        rng = self.rng
        p = u.persona
        tr = {"name": p[0], "email": u.traits_email, "phone": u.phone, "plan": u.plan,
              "createdAt": iso(u.created, p[4]),
              "address": {"street": p[7], "city": p[5], "postalCode": p[8], "country": p[6]},
              "logins": u.logins, "marketingOptIn": rng.random() < 0.5}
        if u.company is not None:
            tr["company"] = {"name": u.company[0], "industry": u.company[1], "employee_count": u.company[2]}
        if rng.random() < 0.3:
            tr["tags"] = rng.sample(["beta", "vip", "newsletter", "churn-risk", "café-lover", "早期ユーザー"], 2)
        if rng.random() < 0.2:
            tr["lastOrderAt"] = iso(t - rng.randrange(86400000, 86400000 * 90))
        return tr

    def properties(self, name, u, t):
        rng = self.rng
        p = PRODUCTS[rng.randrange(len(PRODUCTS))]
        if name in ("Product Viewed", "Product Added", "Product Removed"):
            pr = {"product_id": p[0], "sku": p[1], "category": p[3], "name": p[2], "brand": p[4],
                  "variant": rng.choice(["schwarz", "weiß", "350 ml", "1 kg"]), "price": p[5], "currency": "EUR",
                  "position": rng.randrange(1, 24), "url": SITE + "/products/" + p[0]}
            if name != "Product Viewed":
                pr["quantity"] = rng.randrange(1, 4)
                pr["cart_id"] = "cart_%08x" % rng.getrandbits(32)
            return pr
        if name in ("Order Completed", "Checkout Started"):
            items = []
            sub = 0.0
            for q in rng.sample(PRODUCTS, rng.randrange(1, 3)):
                n = rng.randrange(1, 3)
                sub += q[5] * n
                items.append({"product_id": q[0], "sku": q[1], "name": q[2], "price": q[5], "quantity": n, "category": q[3]})
            sub = round(sub, 2)
            ship = rng.choice([0, 4.9, 5.95])
            pr = {"checkout_id": "chk_%010x" % rng.getrandbits(40), "order_id": "%d-%06d" % (2025, rng.randrange(10 ** 6)),
                  "affiliation": "Acme Online", "subtotal": sub, "shipping": ship, "tax": round(sub * 0.19, 2),
                  "discount": 0, "coupon": rng.choice([None, "FRÜHLING20", "WELCOME10"]), "currency": "EUR",
                  "revenue": sub, "total": round(sub + ship, 2), "products": items}
            if name == "Order Completed":
                pr["shipping_address"] = {"city": u.persona[5], "country": u.persona[6], "postalCode": u.persona[8]}
                pr["gift"] = rng.random() < 0.1
                if rng.random() < 0.3:
                    pr["delivery_eta"] = iso(t + rng.randrange(86400000, 86400000 * 4), u.persona[4])
            return pr
        if name == "Products Searched":
            return {"query": rng.choice(SEARCH_QUERIES), "filters": {"category": p[3], "in_stock": True, "price_max": 100},
                    "results": rng.randrange(0, 140), "page": 1}
        if name in ("Signed In", "Signed Up"):
            pr = {"method": rng.choice(["password", "google", "apple", "passkey"]), "remember_me": rng.random() < 0.6}
            if name == "Signed Up":
                pr["plan"] = u.plan
                pr["referral_code"] = rng.choice([None, "FRIEND-%04d" % rng.randrange(10000)])
                pr["trial_ends_at"] = iso(t + 14 * 86400000, u.persona[4])
            return pr
        if name == "Subscription Started":
            return {"plan": u.plan, "billing_period": rng.choice(["monthly", "annual"]), "amount": rng.choice([9.0, 29.0, 99.0, 290.0]),
                    "currency": "EUR", "trial": rng.random() < 0.4, "started_at": iso(t, u.persona[4]), "seats": rng.randrange(1, 25)}
        if name == "Feature Used":
            f = rng.choice(FEATURES)
            return {"feature": f[0], "area": f[1], "count": rng.randrange(1, 9), "beta": rng.random() < 0.2,
                    "settings": {"format": rng.choice(["csv", "xlsx", "json"]), "columns": ["email", "name", "plan", "createdAt"][:rng.randrange(1, 5)]}}
        if name == "Video Playback Started":
            return {"session_id": "%012x" % rng.getrandbits(48), "content_asset_ids": ["vid_%04d" % rng.randrange(10000)], "position": 0,
                    "total_length": rng.randrange(60, 1800), "video_player": "youtube", "sound": rng.randrange(0, 101),
                    "full_screen": rng.random() < 0.3, "quality": "hd1080", "title": "Barista-Tipps: Milchschaum wie ein Profi"}
        if name in ("Application Opened", "Application Backgrounded"):
            return {"from_background": rng.random() < 0.5, "referring_application": rng.choice(["", "com.apple.mobilesafari", "com.google.android.gm"]),
                    "url": "acme://home", "version": "4.12.0", "build": "%d" % rng.randrange(400, 460)}
        if name in ("Email Opened", "Email Link Clicked"):
            pr = {"email_id": "em_%010x" % rng.getrandbits(40), "email_subject": rng.choice(EMAIL_SUBJECTS).replace("{}", str(rng.randrange(10 ** 5))),
                  "campaign_id": str(rng.randrange(10000, 99999)), "campaign_name": "Frühjahrs-Newsletter 2025"}
            if name == "Email Link Clicked":
                pr["link_id"] = "lnk_%06x" % rng.getrandbits(24)
                pr["link_url"] = SITE + "/pricing?utm_source=nudgespot"
            return pr
        return {"button": rng.choice(["Jetzt kaufen", "In den Warenkorb", "カートに追加", "Προσθήκη"]),
                "location": rng.choice(["hero", "sidebar", "footer"]), "experiment": {"id": "exp_42", "variant": rng.choice(["A", "B"])}}

    WEB_EVENTS = ["Product Viewed", "Product Viewed", "Product Added", "Products Searched", "Checkout Started", "Order Completed",
                  "Signed In", "Feature Used", "Video Playback Started", "Button Clicked", "Subscription Started", "Product Removed"]
    APP_EVENTS = ["Application Opened", "Application Opened", "Product Viewed", "Product Added", "Order Completed", "Application Backgrounded",
                  "Products Searched", "Button Clicked"]
    SERVER_EVENTS = ["Order Completed", "Subscription Started", "Feature Used", "Order Completed"]

    def track(self, u, dev, t, user_id=..., anon=..., name=None, lib=None):
        rng = self.rng
        if name is None:
            lst = self.SERVER_EVENTS if dev is None else (self.WEB_EVENTS if dev.kind == "web" else self.APP_EVENTS)
            name = lst[rng.randrange(len(lst))]
        o = self.envelope("track", u, dev, t, user_id=user_id, anon=anon, lib=lib)
        o["event"] = name
        o["properties"] = self.properties(name, u, t)
        return _reorder(o)

    def identify(self, u, dev, t, user_id=..., anon=...):
        o = self.envelope("identify", u, dev, t, user_id=user_id, anon=anon)
        o["traits"] = self.traits(u, t)
        return _reorder(o)

    # -- one normal event --------------------------------------------------------
    def normal_event(self, t):
        """A plausible event of the ordinary mix; returns the object and an encoder."""
        rng = self.rng
        u = self.pick_user()
        m = self.model
        identified = u.ext in m.identified
        dev = u.devices[rng.randrange(len(u.devices))]
        r = rng.random()
        enc = DUMPS
        if not identified and not u.never_identifies and r < 0.5 and rng.random() < 0.6:
            r = 0.0  # most visitors sign in after a few anonymous events
        if r < 0.15:  # identify
            if u.never_identifies:
                return self.page(u, dev, t, identified), enc
            o = self.identify(u, dev, t)
            u.logins += 1
        elif r < 0.70:  # track
            if not identified:
                x = rng.random()
                if u.never_identifies or x < 0.85:
                    # browsing before sign-in: only anonymousId (anonymous_only, or
                    # not_identified once an alias linked the device)
                    o = self.track(u, dev, t, user_id=None)
                else:
                    # a server-side event that arrives before the client's identify
                    o = self.track(u, None, t, anon=None, name="Signed Up")
            else:
                x = rng.random()
                if u.legacy_due:
                    x = 0.90  # the old system keeps sending under the id an alias just merged
                    u.legacy_due = False
                elif u.alt_due:
                    x = 0.70  # show the back end's own spelling of the id early
                    u.alt_due = False
                if x < 0.66:
                    o = self.track(u, dev, t)
                elif x < 0.72 and u.alt_uid is not None:
                    # the back end spells the same user differently ("User 42" / "user_42", 42 / "42")
                    o = self.track(u, None, t, user_id=u.alt_uid, anon=None)
                elif x < 0.80:
                    # a returning visitor, not signed in: anonymousId only (userId
                    # absent, null or ""), mostly from a device seen at an identify
                    linked = [d for d in u.devices if m.links.get(d.anon, (None,))[0] == u.ext]
                    if linked and rng.random() < 0.9:
                        dev = linked[rng.randrange(len(linked))]
                    o = self.track(u, dev, t, user_id=rng.choice([None, None, NULL, ""]))
                elif x < 0.86 and m.links.get(u.email, (None,))[0] == u.ext:
                    # Nudgespot passes the email, in whatever case, as anonymousId
                    variant = rng.choice([u.email.upper(), u.traits_email, u.email.capitalize()])
                    if variant == u.email:
                        variant = u.email.upper()
                    o = self.track(u, None, t, user_id=None, anon=variant, name=rng.choice(["Email Opened", "Email Link Clicked"]))
                    o["context"] = {"library": {"name": "Nudgespot", "version": "1.0.0"}, "integration": {"name": "nudgespot", "version": "1.0.0"}}
                elif x < 0.91 and u.legacy is not None:
                    # events still keyed by an id the user had before an alias
                    o = self.track(u, None, t, user_id=None, anon=u.legacy, lib="python")
                    enc = DUMPS_ASCII
                elif x < 0.95:
                    # server side; the back end may spell the user id its own way
                    lib = rng.choice(["node", "python"])
                    uid = u.alt_uid if u.alt_uid is not None and rng.random() < 0.6 else u.uid
                    o = self.track(u, None, t, user_id=uid, anon=None, lib=lib)
                    if lib == "python":
                        enc = DUMPS_ASCII  # analytics-python escapes non-ASCII
                else:
                    o = self.track(u, dev, t)
        elif r < 0.89:
            o = self.page(u, dev, t, identified)
        elif r < 0.95:
            o = self.envelope("screen", u, dev, t, user_id=u.uid if identified else None)
            o["name"] = rng.choice(SCREENS)
            o["properties"] = {"Feed Type": rng.choice(["private", "public"]), "scroll_depth": rng.randrange(0, 101)}
            o = _reorder(o)
        elif r < 0.97 or u.never_identifies:
            o = self.envelope("group", u, dev, t, user_id=u.uid if identified else None)
            c = u.company or COMPANIES[0]
            o["groupId"] = u.group_id
            o["traits"] = {"name": c[0], "industry": c[1], "employees": c[2], "plan": "enterprise", "total billed": rng.randrange(100, 5000)}
            o = _reorder(o)
        else:
            # alias: before sign-up it ties the device to the new user id; later it
            # merges an id the user had elsewhere
            if not identified:
                prev = dev.anon
            else:
                prev = u.legacy or rng.choice(["legacy-%d" % rng.randrange(10 ** 6, 10 ** 7),
                                               "%s.%d@old-mail.example" % (u.persona[1], u.idx)])
            o = self.envelope("alias", u, dev, t)
            o["previousId"] = prev
            o = _reorder(o)
            if identified:
                u.legacy = prev
                u.legacy_due = True
        return o, enc

    def page(self, u, dev, t, identified):
        if dev.kind != "web":
            dev = u.devices[0] if u.devices[0].kind == "web" else dev
        o = self.envelope("page" if dev.kind == "web" else "screen", u, dev, t, user_id=u.uid if identified else None)
        pg = o["context"].get("page") or {"path": "/", "referrer": "", "search": "", "title": "Acme", "url": SITE + "/"}
        o["name"] = pg["title"]
        o["properties"] = dict(pg)
        if self.rng.random() < 0.2:
            o["category"] = None
        return _reorder(o)

    # -- dirty lines --------------------------------------------------------------
    def dirty(self, reason, variant, t, allow_long):
        """(line bytes, expected) for a deliberately bad line, or None to skip this reason."""
        rng = self.rng
        m = self.model
        u = self.pick_user()
        dev = u.devices[rng.randrange(len(u.devices))]

        if reason == "line_too_long":
            if not allow_long:
                return None
            if self.long_text is None:
                self.long_text = LONG_PHRASE * (int(1.15 * MIB) // len(LONG_PHRASE.encode()) + 1)
            o = self.track(u, dev, t, name="Feature Used")
            o["properties"]["notes"] = self.long_text
            b = DUMPS(o).encode()
            assert len(b) > MIB + 65536
            return b, "dropped:line_too_long"

        if reason == "malformed_json":
            o = self.track(u, dev, t)
            v = variant % 7
            if v == 0:  # truncated JSON (a writer died mid-line)
                s = DUMPS(o)
                return s[:rng.randrange(len(s) // 3, len(s) - 1)].encode(), "dropped:malformed_json"
            if v == 1:  # NaN
                o["properties"]["price"] = float("nan")
                return DUMPS(o).encode(), "dropped:malformed_json"
            if v == 2:  # trailing comma
                s = DUMPS(o)
                return (s[:-1] + ",}").encode(), "dropped:malformed_json"
            if v == 3:  # Latin-1 bytes inside a UTF-8 line
                o["properties"]["note"] = "@@LATIN1@@"
                b = DUMPS(o).encode().replace(b"@@LATIN1@@", "Crème brûlée, Größe L".encode("latin-1"))
                return b, "dropped:malformed_json"
            if v == 4:  # lone surrogate escape
                o["properties"]["emoji"] = "@@SURR@@"
                esc = "\\ud800" if variant % 2 == 0 else "\\ud83d!"
                return DUMPS(o).replace("@@SURR@@", esc).encode(), "dropped:malformed_json"
            if v == 5:  # nested far deeper than 1,000
                o["properties"]["tree"] = "@@DEEP@@"
                return DUMPS(o).replace('"@@DEEP@@"', "[" * 1500 + "]" * 1500).encode(), "dropped:malformed_json"
            o["properties"]["note"] = "@@SURR@@"  # a surrogate encoded as UTF-8 bytes (CESU-8)
            return DUMPS(o).encode().replace(b"@@SURR@@", b"\xed\xa0\xbd\xed\xb8\x80"), "dropped:malformed_json"

        if reason == "not_an_object":
            v = variant % 5
            if v == 0:  # a whole batch where one event was expected
                o = self.track(u, dev, t)
                s = "[" + DUMPS(o) + "]"
            else:
                s = ["42", '"track"', "null", "true"][v - 1]
            exp = m.decide(json.loads(s))
            assert exp == "dropped:not_an_object"
            return s.encode(), exp

        if reason == "duplicate_message_id":
            if not self.pool:
                return None
            mid, text = self.pool[rng.randrange(len(self.pool))]
            v = variant % 3
            if v == 0:  # the same event delivered twice (a client retry)
                s = text
                o = json.loads(s)
            else:
                o = self.track(u, dev, t)
                o["messageId"] = mid
                s = DUMPS(o)
                if v == 2:  # same string, first character written as an escape
                    old = '"messageId":' + json.dumps(mid, ensure_ascii=False)
                    assert s.count(old) == 1 and ord(mid[0]) < 128
                    s = s.replace(old, '"messageId":"\\u%04x%s"' % (ord(mid[0]), json.dumps(mid, ensure_ascii=False)[2:-1]))
            exp = m.decide(o)
            assert exp == "dropped:duplicate_message_id", exp
            return s.encode(), exp

        # Everything below is a JSON object; its outcome comes from the model.
        raw = None  # (old, new) text substitution that keeps the parsed value
        prefix = None
        if reason == "missing_type":
            o = self.track(u, dev, t)
            v = variant % 5
            if v == 0:
                del o["type"]
            elif v == 1:
                o["type"] = None
            elif v == 2:
                o["type"] = 3
            elif v == 3:
                o = {("Type" if k == "type" else k): val for k, val in o.items()}
            else:
                o["type"] = ["track"]
        elif reason == "unsupported_type":
            v = variant % 4
            if v == 3:
                o = {"type": "delete", "channel": "server", "userId": u.uid, "context": None, "integrations": None,
                     "messageId": "delete-reg-%d::job-2-%s" % (rng.getrandbits(48), self.source_id), "projectId": self.source_id,
                     "timestamp": iso(t - 5000), "receivedAt": iso(t), "sentAt": iso(t - 4000)}
            else:
                o = self.track(u, dev, t)
                o["type"] = ["Track", "TRACK", "Identify"][v]
        elif reason == "missing_user_id":
            v = variant % 5
            if v == 2:
                o = self.identify(u, None, t, user_id=None, anon=None)
            else:
                o = self.track(u, None, t, user_id=None, anon=None)
                if v == 1:
                    o["userId"] = None
                    o["anonymousId"] = None
                elif v == 3:
                    o["userId"] = ""
                    o["anonymousId"] = "   "
                elif v == 4:
                    o["userId"] = None
                    o["anonymousId"] = 12345
        elif reason == "anonymous_only":
            v = variant % 4
            fresh = self.uuid()
            if v == 1:  # identify({email}) before sign-in: traits but no userId
                o = self.identify(u, dev, t, user_id=None, anon=fresh)
            else:
                o = self.track(u, dev, t, user_id=None, anon=fresh)
                if v == 2:
                    o["userId"] = ""
                elif v == 3:
                    o["userId"] = "\u00a0"
        elif reason == "invalid_user_id":
            v = variant % 6
            linked = next((d.anon for d in u.devices if m.links.get(d.anon, (None,))[0] == u.ext), dev.anon)
            if v in (1, 4):
                o = self.identify(u, dev, t)
                o["userId"] = True if v == 1 else [str(u.uid)]
            else:
                o = self.track(u, dev, t, anon=linked)
                if v == 0:
                    o["userId"] = float(u.uid) if isinstance(u.uid, int) and u.uid < 2 ** 53 else 42.0
                elif v == 2:
                    o["userId"] = 40.0
                    raw = ('"userId":40.0', '"userId":4e1')
                elif v == 3:
                    o["userId"] = {"id": str(u.uid)}
                else:
                    o["userId"] = False
        elif reason == "missing_event":
            o = self.track(u, dev, t)
            v = variant % 6
            if v == 0:
                del o["event"]
            elif v == 1:
                o["event"] = None
            elif v == 2:
                o["event"] = ""
            elif v == 3:
                o["event"] = "   "
            elif v == 4:
                o["event"] = 123
            else:  # the key appears twice; the last one ("") wins
                o["event"] = ""
                prefix = '"event":"Order Completed",'
        elif reason == "invalid_timestamp":
            o = self.track(u, dev, t)
            v = variant % 9
            year = iso(t)[:4]
            bad = ["%s-02-30T10:00:00.000Z" % year, "yesterday", None, iso(t).replace("T", " "),
                   "%s-03-10T24:00:00Z" % year, t, iso(t)[:-1], "%s-06-30T23:59:60Z" % year,
                   iso(t)[:-1] + "+24:00"][v]
            if bad is None:
                del o["timestamp"]
            else:
                o["timestamp"] = bad
        elif reason == "not_identified":
            if u.ext not in m.identified and not u.never_identifies:
                o = self.track(u, None, t, anon=None, name="Signed Up")
            else:
                self.ghost_n += 1
                ghost = ["svc-import-%06d" % rng.randrange(10 ** 6), 7000000 + self.ghost_n * 13,
                         "Guest %d" % (90000 + self.ghost_n)][variant % 3]
                while (str(ghost) if isinstance(ghost, int) else ext_id(ghost)) in self.ext_ids:
                    ghost = "svc-import-%06d" % rng.randrange(10 ** 6)
                o = self.track(u, None, t, user_id=ghost, anon=None)
        else:
            raise AssertionError(reason)
        s = DUMPS(o)
        if raw is not None:
            assert s.count(raw[0]) == 1
            s = s.replace(raw[0], raw[1])
        if prefix is not None:
            s = "{" + prefix + s[1:]
        exp = m.decide(o)
        assert exp == "dropped:" + reason, (reason, variant, exp, s[:300])
        self.pool_add(o, s)
        return s.encode(), exp

    def pool_add(self, o, s):
        mid = o.get("messageId")
        if isinstance(mid, str):
            pool = self.pool
            if len(pool) < 256:
                pool.append((mid, s))
            else:
                pool[self.rng.randrange(256)] = (mid, s)


def _reorder(o):
    """Keys in the order Segment's archive writes them (alphabetical)."""
    return {k: o[k] for k in sorted(o)}


# ---------------------------------------------------------------------------
# gzip output
# ---------------------------------------------------------------------------

class GzWriter:
    """Streams one gzip file; with split_at set, starts a second gzip member there."""

    def __init__(self, path, level, split_at=None):
        self.f = open(path, "wb")
        self.level = level
        self.z = zlib.compressobj(level, zlib.DEFLATED, 31)
        self.buf = []
        self.size = 0
        self.raw = 0
        self.split_at = split_at
        self.compressed = 0

    def write(self, b):
        self.buf.append(b)
        self.size += len(b)
        if self.size >= 1 << 22:
            self.flush()

    def flush(self):
        if not self.buf:
            return
        data = b"".join(self.buf)
        self.buf = []
        self.size = 0
        if self.split_at is not None and self.raw + len(data) > self.split_at:
            k = self.split_at - self.raw
            self._out(self.z.compress(data[:k]) + self.z.flush())
            self.z = zlib.compressobj(self.level, zlib.DEFLATED, 31)
            self.split_at = None
            self.raw += k
            data = data[k:]
        self.raw += len(data)
        self._out(self.z.compress(data))

    def _out(self, b):
        self.compressed += len(b)
        self.f.write(b)

    def close(self):
        self.flush()
        self._out(self.z.flush())
        self.f.close()
        return self.compressed, self.raw


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def plan_files(g, args, day0_ms):
    """[(day_ms, file_ms, n_events, [receivedAt ms...])] in reading order."""
    rng = g.rng
    days, files, n = args.days, args.files, args.events
    per_day = [files // days] * days
    for d in rng.sample(range(days), files % days):
        per_day[d] += 1
    weights = [0.7 + 0.6 * rng.random() for _ in range(files)]
    tot = sum(weights)
    counts = [int(n * w / tot) for w in weights]
    for i in range(n - sum(counts)):
        counts[i % files] += 1
    plan = []
    fi = 0
    for d in range(days):
        ds = day0_ms + d * 86400000
        k = per_day[d]
        for j in range(k):
            ws = ds + j * 86400000 // k
            we = ds + (j + 1) * 86400000 // k
            file_ms = we - rng.randrange(3000, 9000)
            plan.append((ds, file_ms, counts[fi], ws, file_ms - 10))
            fi += 1
    return plan


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output directory (segment-logs/ is created inside)")
    ap.add_argument("--events", type=int, default=10000, help="events to write (default 10000)")
    ap.add_argument("--files", type=int, default=4, help="gzip files in total, spread over the days (default 4)")
    ap.add_argument("--days", type=int, default=2, help="received days, one folder each (default 2)")
    ap.add_argument("--users", type=int, default=None, help="distinct users (default events/25)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dirty", type=float, default=0.0, help="share of lines that are deliberately bad (default 0)")
    ap.add_argument("--manifest", help="write the expected outcome of every physical line to this TSV file")
    ap.add_argument("--truncate-last", action="store_true",
                    help="add one more gzip file, last in the last day, cut off mid-stream (corrupt_input)")
    ap.add_argument("--multi-member", action="store_true",
                    help="write the first file as two gzip members, split in the middle of a line")
    ap.add_argument("--source-id", help="Segment source id (default: derived from the seed)")
    ap.add_argument("--start-date", default="2025-03-10", help="first received day, YYYY-MM-DD (default 2025-03-10)")
    ap.add_argument("--level", type=int, default=6, help="gzip level (default 6)")
    args = ap.parse_args(argv)
    if args.events < 0 or args.files < 1 or args.days < 1 or args.files < args.days:
        ap.error("need --events >= 0, --days >= 1 and --files >= --days")
    if not 0.0 <= args.dirty <= 1.0:
        ap.error("--dirty is a fraction between 0 and 1")
    if args.users is None:
        args.users = max(1, args.events // 25)

    started = time.time()
    g = Generator(args)
    rng = g.rng
    m = g.model
    day0 = datetime.datetime.strptime(args.start_date, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    day0_ms = int(day0.timestamp()) * 1000
    plan = plan_files(g, args, day0_ms)

    n = args.events
    n_dirty = round(n * args.dirty)
    dirty_slots = set(rng.sample(range(n), n_dirty)) if n_dirty else set()
    n_quirk = max(3, round(n_dirty / 20)) if n_dirty else 0
    blank_slots = set(rng.sample(range(n), min(n, n_quirk)))
    crlf_slots = set(rng.sample(range(n), min(n, n_quirk)))
    no_final_newline_file = (1 if len(plan) > 1 else 0) if n_dirty else -1

    root = os.path.join(args.out, "segment-logs", g.source_id)
    if args.manifest and os.path.dirname(args.manifest):
        os.makedirs(os.path.dirname(args.manifest), exist_ok=True)
    man = open(args.manifest, "w", encoding="utf-8", newline="\n") if args.manifest else None
    counts = {}
    total_gz = total_raw = 0
    paths = []
    slot = 0
    blanks = 0
    cycle = 0
    variants = {r: 0 for r in REASONS}

    def emit(rel, lineno, exp):
        counts[exp] = counts.get(exp, 0) + 1
        if man is not None:
            man.write("%s\t%s\t%s\n" % (rel, lineno, exp))

    for fi, (day_ms, file_ms, count, ws, we) in enumerate(plan):
        rel = "segment-logs/%s/%d/%d.%012x.gz" % (g.source_id, day_ms, file_ms, rng.getrandbits(48))
        paths.append(rel)
        os.makedirs(os.path.join(args.out, os.path.dirname(rel)), exist_ok=True)
        w = GzWriter(os.path.join(args.out, rel), args.level)
        times = sorted(rng.randrange(ws, we) for _ in range(count))
        long_done = False
        lineno = 0
        written = 0
        for k, t in enumerate(times):
            last_in_file = k == count - 1
            if slot in blank_slots:
                lineno += 1
                w.write([b" \t ", b"\r", b"", b"   ", b"\t"][blanks % 5] + b"\n")
                blanks += 1
                written += 1
                emit(rel, lineno, "skip")
            line = None
            if slot in dirty_slots:
                for _ in range(len(REASONS)):
                    reason = REASONS[cycle % len(REASONS)]
                    cycle += 1
                    res = g.dirty(reason, variants[reason], t, allow_long=not long_done)
                    if res is not None:
                        variants[reason] += 1
                        line, exp = res
                        if reason == "line_too_long":
                            long_done = True
                        break
            if line is None:
                o, enc = g.normal_event(t)
                s = enc(o)
                exp = m.decide(o)
                g.pool_add(o, s)
                line = s.encode()
            lineno += 1
            if last_in_file and fi == no_final_newline_file:
                term = b""
            elif slot in crlf_slots and exp != "dropped:line_too_long":
                term = b"\r\n"
            else:
                term = b"\n"
            if args.multi_member and fi == 0 and lineno == 3:
                w.split_at = written + len(line) // 2  # the second member starts mid-line
            w.write(line + term)
            written += len(line) + len(term)
            emit(rel, lineno, exp)
            slot += 1
        gz, raw = w.close()
        total_gz += gz
        total_raw += raw

    if args.truncate_last:
        day_ms, file_ms, _, ws, we = plan[-1]
        rel = "segment-logs/%s/%d/%d.%012x.gz" % (g.source_id, day_ms, file_ms + 1000, rng.getrandbits(48))
        paths.append(rel)
        lines = []
        exps = []
        users = [u for u in g.users if u.ext in m.identified] or g.users
        for k in range(6):
            u = users[rng.randrange(len(users))]
            dev = u.devices[0]
            o = g.identify(u, dev, file_ms + 200 + k) if k == 2 else g.track(u, dev, file_ms + 200 + k)
            s = DUMPS(o)
            lines.append(s.encode() + b"\n")
            if k < 4:  # the last two are cut off: never complete records
                exps.append(m.decide(o))
        z = zlib.compressobj(args.level, zlib.DEFLATED, 31)
        head = z.compress(b"".join(lines[:4])) + z.flush(zlib.Z_SYNC_FLUSH)
        tail = z.compress(b"".join(lines[4:])) + z.flush()
        data = head + tail[: len(tail) // 3]
        d = zlib.decompressobj(31)
        got = d.decompress(data)
        assert got.startswith(b"".join(lines[:4])) and b"\n" not in got[len(b"".join(lines[:4])):], "cut point"
        assert not d.eof
        with open(os.path.join(args.out, rel), "wb") as f:
            f.write(data)
        total_gz += len(data)
        total_raw += len(got)
        for i, exp in enumerate(exps, 1):
            emit(rel, i, exp)
        emit(rel, "-", "corrupt_input")

    assert paths == sorted(paths, key=lambda p: p.encode()), "files must sort in writing order"
    if man is not None:
        man.close()
    el = time.time() - started
    summary = ", ".join("%s=%d" % (k, counts[k]) for k in sorted(counts))
    print("wrote %d files under %s: %d gzip bytes, %d uncompressed bytes, %.1fs\n%s"
          % (len(paths), root, total_gz, total_raw, el, summary), file=sys.stderr)


if __name__ == "__main__":
    main()
