"""Mail in and out, and nothing else: compose and send once, receive (Maildir, IMAP, drop
folder), read a message defensively, recognise mail nobody meant to send. What a received file
means, and who is answered, is ``tasks.intake``'s."""
