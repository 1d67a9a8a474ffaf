"""Pages everyone uses: sign up, log in and out, password links (`routes`), the account page (`account`)."""
