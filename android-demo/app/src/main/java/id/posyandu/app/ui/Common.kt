package id.posyandu.app.ui

import androidx.compose.foundation.background
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.material3.Card
import androidx.compose.material3.CardDefaults
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.Color
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.unit.dp
import id.posyandu.app.R
import id.posyandu.app.logic.ErrorAction
import id.posyandu.app.logic.GrowthPreview
import id.posyandu.app.logic.Severity
import id.posyandu.app.logic.UiError

fun Severity.color() = Color(argb)

@Composable
fun ErrorCard(error: UiError, onOpenSettings: (() -> Unit)? = null, onRetry: (() -> Unit)? = null) {
    Card(
        colors = CardDefaults.cardColors(containerColor = MaterialTheme.colorScheme.errorContainer),
        modifier = Modifier.fillMaxWidth().padding(8.dp),
    ) {
        Column(Modifier.padding(12.dp)) {
            Text(error.message, color = MaterialTheme.colorScheme.onErrorContainer, fontWeight = FontWeight.SemiBold)
            error.hint?.let { Text(it, color = MaterialTheme.colorScheme.onErrorContainer) }
            Row {
                if (error.action == ErrorAction.OPEN_SETTINGS && onOpenSettings != null) {
                    TextButton(onClick = onOpenSettings) { Text(stringResource(R.string.open_settings)) }
                }
                if (onRetry != null) TextButton(onClick = onRetry) { Text(stringResource(R.string.retry)) }
            }
        }
    }
}

@Composable
fun Loading() = Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }

@Composable
fun SectionTitle(text: String) =
    Text(text, style = MaterialTheme.typography.titleMedium, modifier = Modifier.padding(start = 12.dp, top = 16.dp, bottom = 4.dp))

@Composable
fun Pill(text: String, color: Color) = Text(
    text,
    color = Color.White,
    style = MaterialTheme.typography.labelMedium,
    modifier = Modifier.background(color, RoundedCornerShape(50)).padding(horizontal = 8.dp, vertical = 2.dp),
)

/** Growth result card: one coloured line per indicator (red/yellow/green). */
@Composable
fun GrowthCard(g: GrowthPreview) {
    Card(
        colors = CardDefaults.cardColors(containerColor = g.overall.color().copy(alpha = 0.12f)),
        modifier = Modifier.fillMaxWidth().padding(vertical = 6.dp),
    ) {
        Column(Modifier.padding(12.dp)) {
            Text(stringResource(R.string.growth_result, g.ageText), style = MaterialTheme.typography.titleSmall)
            Text(g.headline, color = g.overall.color(), fontWeight = FontWeight.Bold)
            g.categories.forEach { c ->
                Row(Modifier.padding(top = 4.dp), verticalAlignment = Alignment.CenterVertically) {
                    Pill(c.severity.label, c.severity.color())
                    Text("  ${c.indicator}: ${c.label}" + (c.z?.let { " (z $it)" } ?: ""))
                }
            }
            g.trendLabel?.let { Text("Tren KMS: $it", Modifier.padding(top = 4.dp)) }
            g.referralTriggers.forEach { Text(it, color = Severity.BAHAYA.color(), fontWeight = FontWeight.Bold, modifier = Modifier.padding(top = 4.dp)) }
            g.implausibleWarning?.let { Text(it, color = MaterialTheme.colorScheme.error, modifier = Modifier.padding(top = 4.dp)) }
        }
    }
}
