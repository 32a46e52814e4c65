// Every string the interface shows, in English and Bahasa Indonesia. The `id` table is typed
// against the English one, so a missing translation is a compile error; the browser test also
// checks that no English string is left on the Indonesian pages.

const en = {
  "app.title": "consent-registry",
  "app.tagline": "Say “do not train on my work”, signed and on a public log.",
  "nav.label": "Main",
  "nav.create": "Declare my works",
  "nav.lookup": "Check a work",
  "nav.status": "Node status",
  "nav.schema": "API",
  "lang.label": "Language",
  "skip": "Skip to content",
  "footer.local": "Your works are hashed on this device and never uploaded.",

  "create.title": "Declare my works",
  "create.intro":
    "Choose your images or a whole folder. Each file is fingerprinted on this device (SHA-256 and a perceptual PDQ hash); only the fingerprints and your signed statement go to this node.",
  "key.title": "Your creator key",
  "key.none": "You need a key to sign your declarations. It stays in this browser, encrypted with your passphrase.",
  "key.create": "Create a new key",
  "key.import": "Import a key file",
  "key.importHint": "A key file from `consent keygen` or a backup downloaded here.",
  "key.passphrase": "Passphrase",
  "key.passphraseAgain": "Passphrase again",
  "key.passphraseHint": "At least 8 characters. Without it the key cannot be opened: keep it safe.",
  "key.mismatch": "The two passphrases differ.",
  "key.tooShort": "The passphrase needs at least 8 characters.",
  "key.creating": "Creating and encrypting your key…",
  "key.opening": "Opening the key…",
  "key.unlock": "Unlock",
  "key.locked": "Your key is locked. Enter its passphrase to sign.",
  "key.unlocked": "Signing as",
  "key.lock": "Lock",
  "key.forget": "Remove this key from this browser",
  "key.forgetConfirm": "Remove the key from this browser? Without a backup you cannot change or withdraw your declarations.",
  "key.backup": "Download a backup of my key",
  "key.backupTitle": "Save a backup of your key now",
  "key.backupText":
    "If this browser's data is cleared, the backup file and your passphrase are the only way to withdraw or change your declarations. The file is encrypted with your passphrase.",
  "key.backupDone": "I saved it",
  "key.file": "Key file",
  "key.wrong": "Wrong passphrase, or the key file was altered.",
  "key.badFile": "This is not a consent-registry key file.",

  "files.title": "Your works",
  "files.choose": "Choose files",
  "files.folder": "Choose a folder",
  "files.drop": "…or drop files or a folder here",
  "files.dropLabel": "Drop zone for files and folders",
  "files.hashing": "Fingerprinting on this device",
  "files.hashed": "{n} files fingerprinted",
  "files.hashed1": "1 file fingerprinted",
  "files.clear": "Clear the list",
  "files.none": "No files chosen yet.",
  "files.name": "File",
  "files.size": "Size",
  "files.sha256": "SHA-256",
  "files.pdq": "PDQ quality",
  "files.noImage": "not an image",
  "files.failed": "could not be read",
  "files.duplicate": "same file as {name}",

  "prefs.title": "What you declare",
  "prefs.trainAi": "Do not use these works to train AI models (train-ai=n)",
  "prefs.search": "Search engines",
  "prefs.searchUnset": "say nothing",
  "prefs.searchAllow": "may index (search=y)",
  "prefs.searchDeny": "may not index (search=n)",
  "prefs.trainAllow": "AI training allowed (train-ai=y)",
  "prefs.needOne": "State at least one preference.",

  "submit.button": "Sign and submit {n} works",
  "submit.button1": "Sign and submit 1 work",
  "submit.progress": "Signing and submitting",
  "submit.done": "Done. Declarations now in the node's log: {n}.",
  "submit.failed": "The node refused the submission: {detail}",
  "submit.needKey": "Create, import or unlock your key first.",

  "receipts.download": "Download the receipts (.zip)",
  "receipts.downloadOne": "Download the receipt",
  "receipts.hint": "Each receipt proves its declaration is in the log. Check one any time with `consent verify FILE`.",

  "mine.title": "My declarations",
  "mine.none": "No declarations from this browser yet.",
  "mine.date": "Declared",
  "mine.files": "Files",
  "mine.prefs": "Preferences",
  "mine.status": "Status",
  "mine.actions": "Actions",
  "mine.withdraw": "Withdraw",
  "mine.change": "Allow AI training instead",
  "mine.changeBack": "Disallow AI training again",
  "mine.withdrawConfirm": "Withdraw this declaration? The node's log keeps it, marked as withdrawn.",
  "mine.withdrawn": "withdrawn",
  "mine.current": "current",
  "mine.superseded": "replaced",
  "mine.overridden": "overridden by a later one",
  "mine.unknown": "unknown",
  "mine.more": "and {n} more",

  "lookup.title": "Check a work",
  "lookup.intro":
    "Drop an image, or paste a web address or a SHA-256 / PDQ hash, to see who declared it and what they asked. Images are fingerprinted on this device, not uploaded.",
  "lookup.drop": "Drop an image here, or",
  "lookup.choose": "choose an image",
  "lookup.query": "Web address or hash",
  "lookup.search": "Look up",
  "lookup.badQuery": "Enter an http(s) address or a 64-digit hexadecimal hash.",
  "lookup.exact": "Exact matches",
  "lookup.near": "Similar images (near-duplicates)",
  "lookup.noClaims": "Nobody has declared this work on this node.",
  "lookup.noNear": "No similar declared image.",
  "lookup.result": "Result",
  "lookup.distance": "{d} of 256 bits differ",
  "lookup.asSha256": "as SHA-256",
  "lookup.asPdq": "as PDQ",
  "lookup.url": "Web address",
  "lookup.fingerprinted": "Fingerprints of {name}",
  "lookup.asking": "Asking the node about similar images: {done} of {total} requests answered",

  "claim.creator": "Creator",
  "claim.declared": "Declared",
  "claim.prefs": "Preferences",
  "claim.identity": "Identity",
  "claim.verifiedId": "verified",
  "claim.unverifiedId": "not verified (a did:key only)",
  "claim.flagged": "served by a log flagged for equivocation",
  "claim.verify": "Verify its receipt",
  "claim.verifying": "Verifying…",
  "claim.verified": "Receipt verified in this browser: entry {index} of {origin}, in a checkpoint of {size} entries signed by the node's key.",
  "claim.verifyFailed": "The receipt did not verify: {detail}",

  "prefs.value.n": "no",
  "prefs.value.y": "yes",
  "prefs.cat.train-ai": "AI training",
  "prefs.cat.search": "search",
  "prefs.none": "none",
  "summary.reserved": "Reserved: AI training not allowed",
  "summary.allowed": "AI training allowed",
  "summary.none": "No preference declared",

  "status.title": "Node status",
  "status.node": "This node",
  "status.origin": "Log origin",
  "status.key": "Verifier key",
  "status.version": "Software",
  "status.size": "Log size",
  "status.entries": "{n} entries",
  "status.entry": "1 entry",
  "status.checkpoint": "Latest checkpoint",
  "status.root": "Root hash",
  "status.sigOk": "Signature verified in this browser against the node's key.",
  "status.sigBad": "The checkpoint signature does not verify: {detail}",
  "status.cosigs": "Cosignatures",
  "status.noCosigs": "No witness has cosigned this checkpoint yet.",
  "status.peers": "Peers",
  "status.noPeers": "This node mirrors no peers.",
  "status.peer": "Peer",
  "status.verified": "Verified size",
  "status.lag": "Behind",
  "status.state": "State",
  "status.ok": "mirroring",
  "status.flagged": "FLAGGED: equivocation evidence",
  "status.error": "error: {detail}",
  "status.never": "not reached yet",
  "status.refresh": "Refresh",

  "common.loading": "Loading…",
  "common.error": "Something went wrong: {detail}",
  "common.offline": "The node cannot be reached.",
  "common.close": "Close",
  "common.cancel": "Cancel",
  "common.bytes": "{n} bytes",
  "common.kb": "{n} KB",
  "common.mb": "{n} MB",
};

export type MessageKey = keyof typeof en;

const id: Record<MessageKey, string> = {
  "app.title": "consent-registry",
  "app.tagline": "Nyatakan “jangan latih AI dengan karya saya”, bertanda tangan dan tercatat di log publik.",
  "nav.label": "Utama",
  "nav.create": "Deklarasikan karya saya",
  "nav.lookup": "Periksa sebuah karya",
  "nav.status": "Status node",
  "nav.schema": "API",
  "lang.label": "Bahasa",
  "skip": "Langsung ke isi",
  "footer.local": "Karya Anda di-hash di perangkat ini dan tidak pernah diunggah.",

  "create.title": "Deklarasikan karya saya",
  "create.intro":
    "Pilih gambar Anda atau seluruh folder. Sidik jari setiap berkas dihitung di perangkat ini (SHA-256 dan hash perseptual PDQ); hanya sidik jari dan pernyataan bertanda tangan Anda yang dikirim ke node ini.",
  "key.title": "Kunci kreator Anda",
  "key.none": "Anda memerlukan kunci untuk menandatangani deklarasi. Kunci tetap di peramban ini, terenkripsi dengan frasa sandi Anda.",
  "key.create": "Buat kunci baru",
  "key.import": "Impor berkas kunci",
  "key.importHint": "Berkas kunci dari `consent keygen` atau cadangan yang diunduh di sini.",
  "key.passphrase": "Frasa sandi",
  "key.passphraseAgain": "Ulangi frasa sandi",
  "key.passphraseHint": "Minimal 8 karakter. Tanpanya kunci tidak dapat dibuka: simpan baik-baik.",
  "key.mismatch": "Kedua frasa sandi berbeda.",
  "key.tooShort": "Frasa sandi harus minimal 8 karakter.",
  "key.creating": "Membuat dan mengenkripsi kunci Anda…",
  "key.opening": "Membuka kunci…",
  "key.unlock": "Buka",
  "key.locked": "Kunci Anda terkunci. Masukkan frasa sandinya untuk menandatangani.",
  "key.unlocked": "Menandatangani sebagai",
  "key.lock": "Kunci",
  "key.forget": "Hapus kunci ini dari peramban ini",
  "key.forgetConfirm": "Hapus kunci dari peramban ini? Tanpa cadangan Anda tidak dapat mengubah atau mencabut deklarasi Anda.",
  "key.backup": "Unduh cadangan kunci saya",
  "key.backupTitle": "Simpan cadangan kunci Anda sekarang",
  "key.backupText":
    "Jika data peramban ini terhapus, berkas cadangan dan frasa sandi Anda adalah satu-satunya cara untuk mencabut atau mengubah deklarasi Anda. Berkas ini terenkripsi dengan frasa sandi Anda.",
  "key.backupDone": "Sudah saya simpan",
  "key.file": "Berkas kunci",
  "key.wrong": "Frasa sandi salah, atau berkas kunci telah diubah.",
  "key.badFile": "Ini bukan berkas kunci consent-registry.",

  "files.title": "Karya Anda",
  "files.choose": "Pilih berkas",
  "files.folder": "Pilih folder",
  "files.drop": "…atau letakkan berkas atau folder di sini",
  "files.dropLabel": "Area untuk meletakkan berkas dan folder",
  "files.hashing": "Menghitung sidik jari di perangkat ini",
  "files.hashed": "{n} berkas telah dihitung sidik jarinya",
  "files.hashed1": "1 berkas telah dihitung sidik jarinya",
  "files.clear": "Kosongkan daftar",
  "files.none": "Belum ada berkas yang dipilih.",
  "files.name": "Berkas",
  "files.size": "Ukuran",
  "files.sha256": "SHA-256",
  "files.pdq": "Kualitas PDQ",
  "files.noImage": "bukan gambar",
  "files.failed": "tidak dapat dibaca",
  "files.duplicate": "berkas yang sama dengan {name}",

  "prefs.title": "Yang Anda nyatakan",
  "prefs.trainAi": "Jangan gunakan karya ini untuk melatih model AI (train-ai=n)",
  "prefs.search": "Mesin pencari",
  "prefs.searchUnset": "tidak menyatakan apa pun",
  "prefs.searchAllow": "boleh mengindeks (search=y)",
  "prefs.searchDeny": "tidak boleh mengindeks (search=n)",
  "prefs.trainAllow": "Pelatihan AI diizinkan (train-ai=y)",
  "prefs.needOne": "Nyatakan setidaknya satu preferensi.",

  "submit.button": "Tandatangani dan kirim {n} karya",
  "submit.button1": "Tandatangani dan kirim 1 karya",
  "submit.progress": "Menandatangani dan mengirim",
  "submit.done": "Selesai. Deklarasi yang kini ada di log node: {n}.",
  "submit.failed": "Node menolak pengiriman: {detail}",
  "submit.needKey": "Buat, impor, atau buka kunci Anda terlebih dahulu.",

  "receipts.download": "Unduh tanda terima (.zip)",
  "receipts.downloadOne": "Unduh tanda terima",
  "receipts.hint": "Setiap tanda terima membuktikan bahwa deklarasinya ada di log. Periksa kapan saja dengan `consent verify BERKAS`.",

  "mine.title": "Deklarasi saya",
  "mine.none": "Belum ada deklarasi dari peramban ini.",
  "mine.date": "Dideklarasikan",
  "mine.files": "Berkas",
  "mine.prefs": "Preferensi",
  "mine.status": "Status",
  "mine.actions": "Tindakan",
  "mine.withdraw": "Cabut",
  "mine.change": "Izinkan pelatihan AI",
  "mine.changeBack": "Larang lagi pelatihan AI",
  "mine.withdrawConfirm": "Cabut deklarasi ini? Log node tetap menyimpannya, dengan tanda telah dicabut.",
  "mine.withdrawn": "dicabut",
  "mine.current": "berlaku",
  "mine.superseded": "diganti",
  "mine.overridden": "didahului deklarasi yang lebih baru",
  "mine.unknown": "tidak diketahui",
  "mine.more": "dan {n} lainnya",

  "lookup.title": "Periksa sebuah karya",
  "lookup.intro":
    "Letakkan gambar, atau tempel alamat web atau hash SHA-256 / PDQ, untuk melihat siapa yang mendeklarasikannya dan apa yang diminta. Sidik jari gambar dihitung di perangkat ini, tidak diunggah.",
  "lookup.drop": "Letakkan gambar di sini, atau",
  "lookup.choose": "pilih gambar",
  "lookup.query": "Alamat web atau hash",
  "lookup.search": "Cari",
  "lookup.badQuery": "Masukkan alamat http(s) atau hash heksadesimal 64 digit.",
  "lookup.exact": "Kecocokan persis",
  "lookup.near": "Gambar serupa (hampir duplikat)",
  "lookup.noClaims": "Belum ada yang mendeklarasikan karya ini di node ini.",
  "lookup.noNear": "Tidak ada gambar serupa yang dideklarasikan.",
  "lookup.result": "Hasil",
  "lookup.distance": "{d} dari 256 bit berbeda",
  "lookup.asSha256": "sebagai SHA-256",
  "lookup.asPdq": "sebagai PDQ",
  "lookup.url": "Alamat web",
  "lookup.fingerprinted": "Sidik jari {name}",
  "lookup.asking": "Menanyakan gambar serupa ke node: {done} dari {total} permintaan terjawab",

  "claim.creator": "Kreator",
  "claim.declared": "Dideklarasikan",
  "claim.prefs": "Preferensi",
  "claim.identity": "Identitas",
  "claim.verifiedId": "terverifikasi",
  "claim.unverifiedId": "belum terverifikasi (hanya did:key)",
  "claim.flagged": "dilayani oleh log yang ditandai karena ekuivokasi",
  "claim.verify": "Verifikasi tanda terimanya",
  "claim.verifying": "Memverifikasi…",
  "claim.verified": "Tanda terima terverifikasi di peramban ini: entri {index} dari {origin}, dalam checkpoint berisi {size} entri yang ditandatangani kunci node.",
  "claim.verifyFailed": "Tanda terima tidak valid: {detail}",

  "prefs.value.n": "tidak",
  "prefs.value.y": "ya",
  "prefs.cat.train-ai": "pelatihan AI",
  "prefs.cat.search": "pencarian",
  "prefs.none": "tidak ada",
  "summary.reserved": "Dilindungi: pelatihan AI tidak diizinkan",
  "summary.allowed": "Pelatihan AI diizinkan",
  "summary.none": "Tidak ada preferensi yang dideklarasikan",

  "status.title": "Status node",
  "status.node": "Node ini",
  "status.origin": "Asal log",
  "status.key": "Kunci verifikasi",
  "status.version": "Perangkat lunak",
  "status.size": "Ukuran log",
  "status.entries": "{n} entri",
  "status.entry": "1 entri",
  "status.checkpoint": "Checkpoint terbaru",
  "status.root": "Hash akar",
  "status.sigOk": "Tanda tangan diverifikasi di peramban ini dengan kunci node.",
  "status.sigBad": "Tanda tangan checkpoint tidak valid: {detail}",
  "status.cosigs": "Kosignatur",
  "status.noCosigs": "Belum ada saksi yang ikut menandatangani checkpoint ini.",
  "status.peers": "Rekan (peer)",
  "status.noPeers": "Node ini tidak mencerminkan rekan mana pun.",
  "status.peer": "Rekan",
  "status.verified": "Ukuran terverifikasi",
  "status.lag": "Tertinggal",
  "status.state": "Keadaan",
  "status.ok": "mencerminkan",
  "status.flagged": "DITANDAI: ada bukti ekuivokasi",
  "status.error": "galat: {detail}",
  "status.never": "belum terjangkau",
  "status.refresh": "Muat ulang",

  "common.loading": "Memuat…",
  "common.error": "Terjadi kesalahan: {detail}",
  "common.offline": "Node tidak dapat dihubungi.",
  "common.close": "Tutup",
  "common.cancel": "Batal",
  "common.bytes": "{n} bita",
  "common.kb": "{n} KB",
  "common.mb": "{n} MB",
};

export type Lang = "en" | "id";
export const LANGS: Record<Lang, string> = { en: "English", id: "Bahasa Indonesia" };
const TABLES: Record<Lang, Record<MessageKey, string>> = { en, id };
const STORAGE_KEY = "consent-registry.lang";

/** The language to start in: the one chosen before, else the browser's first supported one. */
export function initialLang(): Lang {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved === "en" || saved === "id") return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const primary = tag.toLowerCase().split("-")[0];
    if (primary === "id" || primary === "in" || primary === "ms") return "id";
    if (primary === "en") return "en";
  }
  return "en";
}

let current: Lang = "en";

export function setLang(lang: Lang): void {
  current = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
}

export function lang(): Lang {
  return current;
}

/** The message `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  return TABLES[current][key].replace(/\{(\w+)\}/g, (_, name: string) =>
    name in vars ? String(vars[name]) : `{${name}}`,
  );
}

// Intl formatters are costly to build (a table of 100 files would build hundreds a redraw):
// one of each per language.
const LOCALES: Record<Lang, string> = { en: "en-GB", id: "id-ID" };
const numbers = new Map<Lang, Intl.NumberFormat>();
const dates = new Map<Lang, Intl.DateTimeFormat>();

/** A number in the current language's format (1,234 / 1.234). */
export function num(n: number): string {
  let format = numbers.get(current);
  if (format === undefined) numbers.set(current, (format = new Intl.NumberFormat(LOCALES[current])));
  return format.format(n);
}

/** A human date and time for Unix seconds, in the current language. */
export function date(seconds: number): string {
  let format = dates.get(current);
  if (format === undefined) {
    format = new Intl.DateTimeFormat(LOCALES[current], { dateStyle: "long", timeStyle: "short" });
    dates.set(current, format);
  }
  return format.format(new Date(seconds * 1000));
}

export function bytes(n: number): string {
  if (n < 1000) return t("common.bytes", { n: num(n) });
  if (n < 1_000_000) return t("common.kb", { n: num(Math.round(n / 100) / 10) });
  return t("common.mb", { n: num(Math.round(n / 100_000) / 10) });
}

/** Every English message, for the test that looks for untranslated text. */
export const ENGLISH_MESSAGES: readonly string[] = Object.values(en);
