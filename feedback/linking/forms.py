from django import forms


class MergeForm(forms.Form):
    other = forms.IntegerField(min_value=1, max_value=2**63 - 1, label="Record to merge into this one",
                               error_messages={"required": "Give the number of the record to merge into this one."})


class EraseForm(forms.Form):
    confirm = forms.CharField(max_length=20, label='Type "erase" to confirm')

    def clean_confirm(self):
        value = self.cleaned_data["confirm"].strip().lower()
        if value != "erase":
            raise forms.ValidationError('Type "erase" to confirm: the person\'s data cannot be brought back.')
        return value
