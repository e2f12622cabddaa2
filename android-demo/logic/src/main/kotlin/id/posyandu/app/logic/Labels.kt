package id.posyandu.app.logic

import id.posyandu.sync.GrowthResult
import id.posyandu.sync.HeightForAge
import id.posyandu.sync.LifeStage
import id.posyandu.sync.Measure
import id.posyandu.sync.MuacBand
import id.posyandu.sync.childMuacBand
import id.posyandu.sync.NutritionStatus
import id.posyandu.sync.Relation
import id.posyandu.sync.Sex
import id.posyandu.sync.SpmArea
import id.posyandu.sync.SyncPhase
import id.posyandu.sync.VitaminACapsule
import id.posyandu.sync.VisitKind
import id.posyandu.sync.WeightForAge
import id.posyandu.sync.knownAntigens

/** Traffic-light severity of a growth category; [argb] is the colour the app paints. */
enum class Severity(val label: String, val argb: Long) {
    NORMAL("Normal", 0xFF2E7D32),      // green
    PERHATIAN("Perhatian", 0xFFEF6C00), // orange: at risk of overweight
    WASPADA("Waspada", 0xFFF9A825),     // yellow: kurang / pendek
    BAHAYA("Bahaya", 0xFFC62828);       // red: gizi buruk / sangat pendek / sangat kurang

    /** Higher = worse (for "overall" = the worst category). */
    val rank: Int get() = when (this) { NORMAL -> 0; PERHATIAN -> 1; WASPADA -> 2; BAHAYA -> 3 }
}

/** One line of the growth result: indicator, Indonesian category, z-score, colour. */
data class GrowthCategory(
    val indicator: String,
    val label: String,
    val z: String?,
    val severity: Severity,
)

/** What the record-visit screen shows under a child's measurements before saving. */
data class GrowthPreview(
    val ageText: String,
    val categories: List<GrowthCategory>,
    val overall: Severity,
    val headline: String,
    val trendLabel: String?,
    /** KMS referral triggers from the core ("Rujuk: berat badan tidak naik (T)", …); empty = none. */
    val referralTriggers: List<String> = emptyList(),
    /** Non-null when a z-score is biologically implausible: re-measure. */
    val implausibleWarning: String?,
    /** Pre-filled referral reason when the result is red. */
    val suggestedReferral: String?,
)

object Labels {
    fun severity(c: WeightForAge): Severity = when (c) {
        WeightForAge.SANGAT_KURANG -> Severity.BAHAYA
        WeightForAge.KURANG -> Severity.WASPADA
        WeightForAge.NORMAL -> Severity.NORMAL
        WeightForAge.RISIKO_LEBIH -> Severity.PERHATIAN
    }

    fun severity(c: HeightForAge): Severity = when (c) {
        HeightForAge.SANGAT_PENDEK -> Severity.BAHAYA
        HeightForAge.PENDEK -> Severity.WASPADA
        HeightForAge.NORMAL, HeightForAge.TINGGI -> Severity.NORMAL
    }

    fun severity(c: NutritionStatus): Severity = when (c) {
        NutritionStatus.GIZI_BURUK -> Severity.BAHAYA
        NutritionStatus.GIZI_KURANG -> Severity.WASPADA
        NutritionStatus.GIZI_BAIK -> Severity.NORMAL
        NutritionStatus.BERISIKO_GIZI_LEBIH, NutritionStatus.GIZI_LEBIH -> Severity.PERHATIAN
        NutritionStatus.OBESITAS -> Severity.BAHAYA
    }

    /** Colour of the core's LiLA band (the band and its limits come from the core's rulebook). */
    fun severity(b: MuacBand): Severity = when (b) {
        MuacBand.MERAH -> Severity.BAHAYA
        MuacBand.KUNING -> Severity.WASPADA
        MuacBand.HIJAU -> Severity.NORMAL
    }

    fun growthPreview(r: GrowthResult, muacCm: Double? = null, oedema: Boolean = false): GrowthPreview {
        val cats = mutableListOf<GrowthCategory>()
        r.bbtb?.let { cats += GrowthCategory("BB/PB atau BB/TB", r.bbtbLabel ?: it.name, r.zwfl?.let(Format::z), severity(it)) }
        r.bbu?.let { cats += GrowthCategory("BB/U", r.bbuLabel ?: it.name, r.zwfa?.let(Format::z), severity(it)) }
        r.tbu?.let { cats += GrowthCategory("PB/U atau TB/U", r.tbuLabel ?: it.name, r.zlhfa?.let(Format::z), severity(it)) }
        r.imtu?.let { cats += GrowthCategory("IMT/U", r.imtuLabel ?: it.name, r.zbmi?.let(Format::z), severity(it)) }
        // The core decides whether LiLA is screened at this age and which band it is in.
        muacCm?.let { childMuacBand(r.ageDays, it) }?.let { m ->
            cats += GrowthCategory("LiLA", m.label, r.zmuac?.let(Format::z), severity(m.band))
        }
        if (oedema) cats += GrowthCategory("Edema", "Edema kedua kaki: gizi buruk", null, Severity.BAHAYA)
        val overall = cats.maxByOrNull { it.severity.rank }?.severity ?: Severity.NORMAL
        val worst = cats.filter { it.severity == overall }
        val headline = when {
            cats.isEmpty() -> "Isi berat badan dan/atau panjang/tinggi badan untuk melihat hasil"
            overall == Severity.BAHAYA -> worst.joinToString(", ") { it.label } + " — segera rujuk ke Puskesmas"
            overall == Severity.WASPADA -> worst.joinToString(", ") { it.label } + " — beri konseling dan pantau bulan depan"
            overall == Severity.PERHATIAN -> worst.joinToString(", ") { it.label } + " — konseling pola makan"
            else -> "Pertumbuhan normal"
        }
        val f = r.flags
        val implausible = listOfNotNull(
            "BB/U".takeIf { f.wfa }, "PB/U" .takeIf { f.lhfa }, "BB/PB".takeIf { f.wfl },
            "IMT/U".takeIf { f.bmi }, "LK/U".takeIf { f.hcfa }, "LiLA/U".takeIf { f.muac },
        )
        return GrowthPreview(
            ageText = Format.age(r.ageMonths.toInt()),
            categories = cats,
            overall = overall,
            headline = headline,
            trendLabel = r.weightTrendLabel,
            referralTriggers = r.referralTriggers.map { it.label },
            implausibleWarning = if (implausible.isEmpty()) null
            else "Nilai tidak wajar (${implausible.joinToString(", ")}): periksa ulang alat dan cara mengukur",
            suggestedReferral = when {
                overall == Severity.BAHAYA -> "Hasil penimbangan: " + (worst.map { it.label } + r.referralTriggers.map { it.label }).joinToString(", ")
                // The KMS refers on T, 2T, below the red or above the orange line (core's rule).
                r.referralTriggers.isNotEmpty() -> "Hasil penimbangan: " + r.referralTriggers.joinToString(", ") { it.label }
                else -> null
            },
        )
    }

    fun sex(s: Sex) = when (s) { Sex.MALE -> "Laki-laki"; Sex.FEMALE -> "Perempuan" }

    /** Buku KIA/KMS ownership as recorded (K of SKDN counts only "Ya"). */
    fun kiaBook(v: Boolean?) = "Buku KIA/KMS: " + when (v) { true -> "Ya"; false -> "Tidak"; null -> "belum dicatat" }

    fun glucoseKind(k: id.posyandu.sync.GlucoseKind) = when (k) {
        id.posyandu.sync.GlucoseKind.SEWAKTU -> "Sewaktu (GDS)"
        id.posyandu.sync.GlucoseKind.PUASA -> "Puasa (GDP)"
    }

    /**
     * The core's adult screening of the measurements being typed, as short Indonesian
     * lines (only what was measured and flagged or categorised); the thresholds are the
     * core's, not the app's.
     */
    fun screening(r: id.posyandu.sync.ScreeningResult?): List<String> {
        if (r == null || !r.applies) return emptyList()
        val out = ArrayList<String>()
        r.hypertension?.let { out += if (it) "Tekanan darah tinggi (hipertensi)" else "Tekanan darah normal" }
        r.highGlucose?.let { high ->
            val kind = r.glucoseKind?.let { k -> if (k == id.posyandu.sync.GlucoseKind.PUASA) "puasa" else "sewaktu" } ?: "sewaktu"
            out += if (high) "Gula darah $kind tinggi" else "Gula darah $kind normal"
        }
        if (r.imt != null && r.imtLabel != null) out += "IMT ${Format.decimal(r.imt!!, 1)}: ${r.imtLabel}"
        r.centralObesity?.let { out += if (it) "Obesitas sentral (lingkar perut)" else "Lingkar perut normal" }
        return out
    }

    fun relation(r: Relation) = when (r) {
        Relation.KEPALA_KELUARGA -> "Kepala keluarga"
        Relation.ISTRI -> "Istri"
        Relation.SUAMI -> "Suami"
        Relation.ANAK -> "Anak"
        Relation.MENANTU -> "Menantu"
        Relation.CUCU -> "Cucu"
        Relation.ORANG_TUA -> "Orang tua"
        Relation.MERTUA -> "Mertua"
        Relation.FAMILI_LAIN -> "Famili lain"
        Relation.LAINNYA -> "Lainnya"
    }

    fun visitKind(k: VisitKind) = when (k) {
        VisitKind.HARI_BUKA -> "Hari buka Posyandu"
        VisitKind.KUNJUNGAN_RUMAH -> "Kunjungan rumah"
    }

    fun measure(m: Measure) = when (m) { Measure.LYING -> "Telentang (PB)"; Measure.STANDING -> "Berdiri (TB)" }

    /** The SPM area's label from the core (one list of areas and names for app, report and relay). */
    fun spmArea(a: SpmArea): String = id.posyandu.sync.spmAreaLabel(a)

    fun stageShort(s: LifeStage) = when (s) {
        LifeStage.IBU_HAMIL -> "Bumil"
        LifeStage.IBU_NIFAS -> "Bufas"
        LifeStage.BAYI_BALITA -> "Balita"
        LifeStage.USIA_SEKOLAH_REMAJA -> "Remaja"
        LifeStage.DEWASA -> "Dewasa"
        LifeStage.LANSIA -> "Lansia"
    }

    fun syncPhase(p: SyncPhase) = when (p) {
        SyncPhase.DOWNLOAD -> "Mengunduh data Posyandu…"
        SyncPhase.EXCHANGE -> "Mengirim dan menerima perubahan…"
        SyncPhase.DONE -> "Selesai"
    }

    /**
     * Indonesian display names of antigen codes. The list of codes (and its order) comes
     * from the core (`knownAntigens()`); a code without a name here is shown as is.
     */
    val ANTIGEN_LABELS: Map<String, String> = mapOf(
        "HB0" to "HB-0", "BCG" to "BCG", "POLIO1" to "Polio 1", "DPT_HB_HIB1" to "DPT-HB-Hib 1",
        "POLIO2" to "Polio 2", "PCV1" to "PCV 1", "RV1" to "Rotavirus 1", "DPT_HB_HIB2" to "DPT-HB-Hib 2",
        "POLIO3" to "Polio 3", "PCV2" to "PCV 2", "RV2" to "Rotavirus 2", "DPT_HB_HIB3" to "DPT-HB-Hib 3",
        "POLIO4" to "Polio 4", "IPV1" to "IPV 1", "RV3" to "Rotavirus 3", "MR1" to "MR 1", "IPV2" to "IPV 2",
        "PCV3" to "PCV 3", "DPT_HB_HIB4" to "DPT-HB-Hib 4 (lanjutan)", "MR2" to "MR 2 (lanjutan)",
        "DT" to "DT (BIAS)", "TD1" to "Td 1", "TD2" to "Td 2", "TD3" to "Td 3", "TD4" to "Td 4", "TD5" to "Td 5",
        "HPV1" to "HPV 1", "HPV2" to "HPV 2", "JE" to "JE (Japanese Encephalitis)",
    )

    /** The antigen picker: every code the core knows, in the core's schedule order, with its name. */
    val ANTIGENS: List<Pair<String, String>> by lazy { knownAntigens().map { it.code to antigen(it.code) } }

    fun antigen(code: String) = ANTIGEN_LABELS[code] ?: code

    fun vitaminACapsule(c: VitaminACapsule) = when (c) {
        VitaminACapsule.BIRU -> "Kapsul biru"
        VitaminACapsule.MERAH -> "Kapsul merah"
    }
}
