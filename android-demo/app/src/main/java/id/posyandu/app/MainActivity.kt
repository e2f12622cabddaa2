package id.posyandu.app

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import id.posyandu.app.ui.PosyanduNavHost
import id.posyandu.app.ui.PosyanduTheme

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val stores = (application as PosyanduApp).stores
        setContent {
            PosyanduTheme {
                PosyanduNavHost(stores)
            }
        }
    }
}
