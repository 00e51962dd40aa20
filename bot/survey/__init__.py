"""The SKM satisfaction survey of PermenPANRB 14/2017, offered in the chat after a ticket is `selesai`."""
