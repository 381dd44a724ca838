# SPDX-License-Identifier: Apache-2.0
# The dashboard in a real browser: sets up a shop with a filled slot opening
# (booked through a signed Twilio YES, deposit paid at the fake Stripe), an
# open one and an expired one, then runs t/browser/dashboard.mjs (headless
# Chromium through playwright-core), which checks the pages, follows "View
# booking" and "Details", submits the filter form, cancels an appointment with
# its Cancel button, fails on any console error, failed request or HTTP >= 400,
# and saves full-page screenshots (desktop and 390 px) to t/screenshots/.
#
# Skipped only when /usr/bin/chromium (Debian package chromium) or
# node_modules/playwright-core (npm ci at the top of the repository) is missing:
# scripts/test installs both.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Cwd ();
use File::Spec::Functions qw(catfile);
use MIME::Base64 ();
use POSIX qw(floor);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Dashboard qw(iso_at cancel_api sms_yes);
use SlotRecovery::TestEnv ();

my $top = Cwd::abs_path(SlotRecovery::TestEnv::top_dir());
my $chromium = $ENV{SR_CHROMIUM} || '/usr/bin/chromium';
my $pw = catfile($top, 'node_modules', 'playwright-core', 'package.json');
my @missing;
push @missing, "$chromium is missing (apt-get install chromium)" unless -x $chromium;
push @missing, "node_modules/playwright-core is missing (npm ci in $top)" unless -f $pw;
if (@missing) {
    # In CI a missing tool is a broken setup (scripts/test installs both), never a skip.
    if (($ENV{CI} // '') eq 'true') {
        plan tests => 1;
        fail 'CI=true: ' . join '; ', @missing;
        exit 0;
    }
    plan tests => 1, Apache::Test::skip_reason(join '; ', @missing);
}

binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

reset_all();

my $shop = make_shop(name => 'Browser Barbers', timezone => 'Europe/London', smsFrom => '+15005550601',
    depositAmount => 2000, currency => 'usd');
my $g = api(POST => "/api/shops/$shop->{id}/users", { username => 'owner1' });
die 'grant: ' . $g->dump unless $g->status == 201;

my $day = floor(time / 86400) * 86400;
my $T1 = $day + 3 * 86400 + 10 * 3600;
my $T2 = $day + 4 * 86400 + 14 * 3600 + 30 * 60;
my %c;
$c{$_} = make_customer($shop->{id}, name => $_, smsOptIn => json_false())
    for 'Ann Archer', 'Ben Brooks', 'Cat Cole';
$c{wendy} = make_customer($shop->{id}, name => 'Wendy Waters', phone => '+15557776001',
    email => 'wendy@example.com', stripeCustomerId => 'cus_wendy', stripePaymentMethodId => 'pm_card_visa');
$c{will} = make_customer($shop->{id}, name => 'Will Wright', phone => '+15557776002');
db_do(q{UPDATE customers SET waitlist_joined_at = now() + interval '1 minute' WHERE id = ?}, $c{will}{id});

my $appt = sub {
    my ($who, $start, $len) = @_;
    make_appointment($shop->{id}, $c{$who}{id}, startsAt => iso_at($start), endsAt => iso_at($start + $len));
};
my $a1 = $appt->('Ann Archer', $T1, 2700);
my $a2 = $appt->('Ben Brooks', $T2, 1800);
my $a3 = $appt->('Cat Cole', $T1, 2700);
my $a4 = $appt->('will', $T1, 2700);

my $s1 = cancel_api($a1->{id});                     # offered to Wendy ...
my $yes = sms_yes('+15557776001', '+15005550601');  # ... who books it
is $yes->status, 200, 'setup: Wendy\'s signed YES' or diag $yes->dump;
my $booking = db_row('SELECT filled_by_appointment_id AS id FROM slot_openings WHERE id = ?', $s1)->{id};
ok $booking, 'setup: slot opening filled by a recovered booking';
db_do(q{UPDATE slot_openings SET filled_at = created_at + interval '150 seconds' WHERE id = ?}, $s1);
# The fake Stripe's ids are random letters, and their width decides whether the
# booking page fits a phone: use a fixed one (the example id of Stripe's docs).
db_do(q{UPDATE payments SET stripe_payment_intent_id = 'pi_3MtwBwLkdIwHu7ix28a3tqPa' WHERE appointment_id = ?}, $booking);
my $s2 = cancel_api($a2->{id});                     # open, a live offer to Wendy
my $s3 = cancel_api($a3->{id});                     # nobody free at T1: waits ...
db_do(q{UPDATE slot_openings SET status = 'expired', expired_at = now(), expired_reason = 'no_eligible_customer'
        WHERE id = ?}, $s3);                        # ... until its cutoff expires it
is db_row('SELECT status FROM slot_openings WHERE id = ?', $s2)->{status}, 'open', 'setup: an open slot opening';
is db_row('SELECT status FROM slot_openings WHERE id = ?', $s3)->{status}, 'expired', 'setup: an expired one';

my %expect = (
    shopName          => 'Browser Barbers',
    filledSlot        => "$s1",
    openSlot          => "$s2",
    expiredSlot       => "$s3",
    booking           => "$booking",
    bookingCustomer   => 'Wendy Waters',
    sourceAppointment => "$a1->{id}",
    sourceCustomer    => 'Ann Archer',
    payment           => 'succeeded 20.00 USD',
    slotCount         => 3,
    cancelAppointment => "$a4->{id}",
    figures           => { 'Slots opened' => '3', Filled => '1', Expired => '1', 'Recovery rate' => '33%',
                           'Median time to fill' => '2 min', 'Deposits collected' => '20.00 USD' },
);

local $ENV{SR_BASE_URL}       = public_base_url();
local $ENV{SR_DASH_PREFIX}    = '/app';
local $ENV{SR_DASH_USER}      = 'owner1';
local $ENV{SR_DASH_PASSWORD}  = 'secret';
local $ENV{SR_SCREENSHOT_DIR} = catfile($top, 't', 'screenshots');
local $ENV{SR_SCREENSHOT_TAG} = 'dashboard';
local $ENV{SR_EXPECT}         = encode_json(\%expect);
local $ENV{SR_CANCEL}         = '1';
local $ENV{SR_CHROMIUM}       = $chromium;

my $script = catfile($top, 't', 'browser', 'dashboard.mjs');
my @cmd = ('timeout', '-k', '10', '180', 'node', $script);
my $started = time;
open my $out, '-|', join(' ', map { quotemeta } @cmd) . ' 2>&1' or die "cannot run node: $!";
my ($oks, $nots) = (0, 0);
while (my $line = <$out>) {
    utf8::decode($line);
    chomp $line;
    if ($line =~ /^ok - (.*)$/) {
        pass("browser: $1");
        $oks++;
    }
    elsif ($line =~ /^not ok - (.*)$/) {
        fail("browser: $1");
        $nots++;
    }
    else {
        diag $line;
    }
}
close $out;
my $rc = $? >> 8;
is $rc, 0, 'node t/browser/dashboard.mjs exited 0 (' . (time - $started) . ' s)';
ok $oks + $nots >= 60, "the browser ran all its checks ($oks passed, $nots failed)";

# The actual cancel reached the database.
is db_row('SELECT status FROM appointments WHERE id = ?', $a4->{id})->{status}, 'cancelled',
    'the Cancel button cancelled the appointment in the database';
for my $name (qw(appointments-desktop booking slot-opening appointments-phone slot-opening-phone booking-phone
                 after-cancel)) {
    my $f = catfile($top, 't', 'screenshots', "dashboard-$name.png");
    ok -s $f && (stat $f)[9] >= $started - 1, "screenshot t/screenshots/dashboard-$name.png written";
}

done_testing();
