printf 'Content-Type: text/plain\n\nno interpreter line\n'
