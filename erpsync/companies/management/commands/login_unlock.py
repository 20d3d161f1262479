import ipaddress

from django.core.management.base import BaseCommand, CommandError

from erpsync.companies.throttle import login_unlock


class Command(BaseCommand):
    help = "End a sign-in lockout early, for a user name, an address, or both (audited)."

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", default="", help="the locked-out user name")
        parser.add_argument("--address", default="", help="the locked-out IP address")

    def handle(self, *args, username="", address="", **options):
        if not (username or address):
            raise CommandError("Name the user name to unlock, or give --address, or both.")
        if address:
            try:
                address = str(ipaddress.ip_address(address.strip()))
            except ValueError:
                raise CommandError(f"{address!r} is not an IP address (such as 10.0.0.7 or 2001:db8::7).") from None
        cleared = login_unlock(username=username, address=address)
        who = " and ".join(filter(None, [username and f"user name {username}", address and f"address {address}"]))
        if cleared:
            self.stdout.write(f"Unlocked {who}: they may sign in again.")
        else:
            self.stdout.write(f"{who[0].upper()}{who[1:]} was not locked out; nothing to do.")
