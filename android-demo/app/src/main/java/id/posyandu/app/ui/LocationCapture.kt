package id.posyandu.app.ui

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationManager
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.ContextCompat

/**
 * The app-layer GPS capture for the household form (the view model only takes
 * lat/lon): asks for the location permission, then takes the current fix
 * (API 30+) or the freshest last known one. No Play Services needed.
 * Returns the function to call from the "Ambil lokasi" button.
 */
@Composable
fun rememberLocationCapture(onLocation: (lat: Double, lon: Double) -> Unit, onError: (String) -> Unit): () -> Unit {
    val context = LocalContext.current
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) { granted ->
        if (granted.values.any { it }) capture(context, onLocation, onError)
        else onError("Izin lokasi ditolak. Lokasi GPS tidak diambil.")
    }
    return {
        if (hasPermission(context)) capture(context, onLocation, onError)
        else launcher.launch(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION))
    }
}

private fun hasPermission(c: Context) =
    ContextCompat.checkSelfPermission(c, Manifest.permission.ACCESS_FINE_LOCATION) == PackageManager.PERMISSION_GRANTED ||
        ContextCompat.checkSelfPermission(c, Manifest.permission.ACCESS_COARSE_LOCATION) == PackageManager.PERMISSION_GRANTED

@SuppressLint("MissingPermission") // checked by the caller
private fun capture(c: Context, onLocation: (Double, Double) -> Unit, onError: (String) -> Unit) {
    val lm = c.getSystemService(Context.LOCATION_SERVICE) as? LocationManager
        ?: return onError("Layanan lokasi tidak tersedia di HP ini.")
    val providers = listOf(LocationManager.GPS_PROVIDER, LocationManager.NETWORK_PROVIDER).filter { runCatching { lm.isProviderEnabled(it) }.getOrDefault(false) }
    if (providers.isEmpty()) return onError("Lokasi (GPS) HP mati. Nyalakan lokasi lalu coba lagi.")
    val fallback = {
        val last: Location? = providers.mapNotNull { runCatching { lm.getLastKnownLocation(it) }.getOrNull() }.maxByOrNull { it.time }
        if (last != null) onLocation(last.latitude, last.longitude)
        else onError("Lokasi belum didapat. Coba lagi di luar rumah.")
    }
    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
        lm.getCurrentLocation(providers.first(), null, ContextCompat.getMainExecutor(c)) { loc ->
            if (loc != null) onLocation(loc.latitude, loc.longitude) else fallback()
        }
    } else fallback()
}
