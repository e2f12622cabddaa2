package id.posyandu.app.ui

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color

private val colors = lightColorScheme(
    primary = Color(0xFF00695C),
    onPrimary = Color.White,
    secondary = Color(0xFF1565C0),
    error = Color(0xFFC62828),
)

@Composable
fun PosyanduTheme(content: @Composable () -> Unit) = MaterialTheme(colorScheme = colors, content = content)
