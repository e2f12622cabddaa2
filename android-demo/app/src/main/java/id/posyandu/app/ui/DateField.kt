package id.posyandu.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.DateRange
import androidx.compose.material3.DatePicker
import androidx.compose.material3.DatePickerDialog
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.SelectableDates
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.rememberDatePickerState
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import id.posyandu.app.R
import id.posyandu.app.logic.Format

/**
 * A date input: shows `12 Mei 2025`, opens a Material3 DatePicker; the view model
 * keeps the `YYYY-MM-DD` string ([value]) and gets one back through [onChange].
 * [maxIso] (usually the store's today) greys out later days.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun DateField(
    value: String,
    label: String,
    onChange: (String) -> Unit,
    modifier: Modifier = Modifier,
    maxIso: String? = null,
    enabled: Boolean = true,
    isError: Boolean = false,
) {
    var open by remember { mutableStateOf(false) }
    Box(modifier.fillMaxWidth()) {
        OutlinedTextField(
            value = if (value.isBlank()) "" else Format.date(value),
            onValueChange = {},
            readOnly = true,
            enabled = enabled,
            isError = isError,
            label = { Text(label) },
            trailingIcon = { Icon(Icons.Filled.DateRange, contentDescription = stringResource(R.string.pick_date)) },
            singleLine = true,
            modifier = Modifier.fillMaxWidth(),
        )
        // A read-only text field swallows taps: a transparent layer opens the picker.
        if (enabled) Box(Modifier.matchParentSize().clickable { open = true })
    }
    if (open) {
        val max = Format.isoToUtcMillis(maxIso)
        val state = rememberDatePickerState(
            initialSelectedDateMillis = Format.isoToUtcMillis(value) ?: max,
            selectableDates = object : SelectableDates {
                override fun isSelectableDate(utcTimeMillis: Long): Boolean = max == null || utcTimeMillis <= max
            },
        )
        DatePickerDialog(
            onDismissRequest = { open = false },
            confirmButton = {
                TextButton(onClick = {
                    state.selectedDateMillis?.let { onChange(Format.utcMillisToIso(it)) }
                    open = false
                }) { Text(stringResource(R.string.ok)) }
            },
            dismissButton = { TextButton(onClick = { open = false }) { Text(stringResource(R.string.cancel)) } },
        ) { DatePicker(state = state) }
    }
}
