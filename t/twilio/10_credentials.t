# SPDX-License-Identifier: Apache-2.0
# Twilio refusing our credentials (401/403: a wrong or rotated auth token, a
# wrong account SID) is not a temporary error: nothing is wrong with the
# offers. They wait as pending, their attempts not used up and the waitlist
# not passed over, however many sweeps run; the module logs it at error level
# (without the token) and every dashboard page shows a notice saying since
# when. Once Twilio accepts the credentials again (the token fixed, httpd
# reloaded), the next sweep sends the offers and the notice goes.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel sweep offers_of sent_messages);
use SlotRecovery::Flows qw(error_log_mark error_log_since);
use SlotRecovery::Dashboard qw(page grant);

reset_db();
twilio_reset();

my $shop = make_shop(name => 'Refused Shop');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $a = make_customer($shop->{id}, name => 'A');
my $b = make_customer($shop->{id}, name => 'B');
grant($shop->{id}, 'owner1');
my $token = twilio_auth_token();

sub to_phone { my ($p) = @_; [ grep { ($_->{form}{To} // '') eq $p } @{ twilio_messages() } ] }
sub make_due {
    db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'});
    db_do(q{UPDATE customer_notifications SET next_attempt_at = now() - interval '1 second' WHERE status = 'pending'});
}
sub problem { db_row('SELECT * FROM twilio_credential_problems WHERE account_sid = ?', twilio_account_sid()) }

# --- Twilio now wants another token than ours ------------------------------------------------------
twilio_behave({ authToken => 'rotated-at-twilio-0123456789abcdef' });
my $mark = error_log_mark();
my $appt = make_appointment($shop->{id}, $cx->{id});
my $r = cancel($appt->{id});
is $r->status, 200, 'cancel: 200' or diag $r->dump;
my $slot = $r->json->{slotOpening}{id};
my $tries = to_phone($a->{phone});
is scalar @$tries, 1, 'the offer to A was tried';
is $tries->[0]{status}, 401, '... and the stand-in refused our token: 401';
my $o = offers_of($slot);
is scalar @$o, 1, 'one offer';
is $o->[0]{status}, 'pending', "... A's offer waits as pending";
is $o->[0]{attempts}, 0, '... its attempt not counted';
like $o->[0]{last_error}, qr/401.*20003/, '... lastError says 401, error 20003';

my $log = error_log_since($mark);
like $log, qr/\[slotrecovery:error\].*mod_slotrecovery: Twilio refused the credentials of account \Q${\ twilio_account_sid()}\E \(Twilio answered 401 \(error 20003\)/,
    'an error-level line with the module prefix says Twilio refused the credentials' or diag $log;
unlike $log, qr/\Q$token\E/, '... the auth token is not logged';
unlike $log, qr/rotated-at-twilio/, '... nor the one Twilio wants';

my $p = problem();
ok $p, 'twilio_credential_problems has a row for the account';
is $p && $p->{http_status}, 401, '... HTTP 401';
is $p && $p->{error_code}, 20003, '... error 20003';
ok $p && !defined $p->{resolved_at}, '... not resolved';

# A customer notification in the outbox (the sweep sends those too; at most 10 tries).
db_do(q{INSERT INTO customer_notifications (customer_id, kind, to_number, from_number, body)
        VALUES (?, 'deposit_failed', ?, '+15005550006', 'Test notice: the deposit payment failed.')}, $cx->{id}, $cx->{phone});
sub notice { db_row('SELECT * FROM customer_notifications WHERE customer_id = ?', $cx->{id}) }

# More sweeps than SlotRecoveryOfferMaxAttempts (3) and the notifications' 10 tries:
# the offer and the notification still wait, B is not offered.
for my $i (1 .. 11) {
    make_due();
    sweep();
}
my $n = notice();
is $n->{status}, 'pending', 'after 11 sweeps: the notification waits as pending';
is $n->{attempts}, 0, '... no attempt used up';
like $n->{last_error}, qr/401/, '... lastError says 401';
is scalar(grep { $_->{status} == 401 } @{ to_phone($cx->{phone}) }), 11, '... each sweep tried it';
$o = offers_of($slot);
is scalar @$o, 1, 'after 11 sweeps: still one offer, B not offered';
is $o->[0]{status}, 'pending', "... A's offer still pending, not failed";
is $o->[0]{attempts}, 0, '... no attempt used up';
is scalar @{ to_phone($a->{phone}) }, 12, '... each sweep tried once more';
is scalar @{ to_phone($b->{phone}) }, 0, '... nothing to B';
is scalar @{ sent_messages() }, 0, 'no SMS went out';

# --- the dashboard says so, on every page ------------------------------------------------------------
for my $path ('/app/appointments', "/app/slot-openings/$slot", "/app/appointments/$appt->{id}") {
    my $pg = page(owner1 => $path);
    is $pg->status, 200, "$path: 200" or diag $pg->dump;
    like $pg->{html}, qr{<div class="notice notice-error" role="alert" id="twilio-credentials"><strong>Twilio refused our credentials</strong> \(HTTP 401, error 20003\) since \w{3} \d\d \w{3} \d{4} \d\d:\d\d, last at },
        '... the notice says Twilio refused our credentials, and since when';
    unlike $pg->{html}, qr/\Q$token\E/, '... without the token';
}

# Twilio's message is escaped (a 403 this time: also refused credentials).
twilio_behave({ failAll => { status => 403, code => 20005, message => 'Account <b>suspended</b> & "closed"' } });
make_due();
sweep();
is offers_of($slot)->[0]{attempts}, 0, 'a 403: the attempt is not counted either';
is problem()->{http_status}, 403, '... the problem row says 403';
my $pg = page(owner1 => '/app/appointments');
like $pg->{html}, qr/\(HTTP 403, error 20005\)/, '... the notice too';
like $pg->{html}, qr/Account &lt;b&gt;suspended&lt;\/b&gt; &amp; &#34;closed&#34;/, "... Twilio's message escaped";
unlike $pg->{html}, qr/<b>suspended/, '... never as markup';

# Another shop's dashboard on the same server shows it too: the problem is the server's account.
my $other = make_shop(name => 'Other Shop');
grant($other->{id}, 'owner2');
like page(owner2 => '/app/appointments')->{html}, qr/id="twilio-credentials"/, "another shop's dashboard shows it too";

# --- fixed: the next sweep sends the waiting offer ------------------------------------------------------
twilio_behave({});    # Twilio takes our token again (what a corrected token and a reload amount to)
make_due();
sweep();
$o = offers_of($slot);
is $o->[0]{status}, 'sent', "once the credentials work, the next sweep sends A's offer";
is $o->[0]{attempts}, 1, '... on its first counted attempt';
is scalar(grep { $_->{status} == 201 } @{ to_phone($a->{phone}) }), 1, '... one SMS to A';
is notice()->{status}, 'sent', '... and the waiting notification';
is scalar(grep { $_->{status} == 201 } @{ to_phone($cx->{phone}) }), 1, '... one SMS to its customer';
ok defined problem()->{resolved_at}, 'the problem row is resolved';
unlike page(owner1 => '/app/appointments')->{html}, qr/twilio-credentials|Twilio refused/, 'the dashboard notice is gone';

# A refusal after a resolution starts again with a new "since".
my $first = problem()->{first_seen_at};
twilio_behave({ authToken => 'rotated-again-0123456789abcdef' });
my $c = make_customer($shop->{id}, name => 'C');
$r = cancel(make_appointment($shop->{id}, $cx->{id}, startsAt => iso_in(3 * 86400), endsAt => iso_in(3 * 86400 + 1800))->{id});
is $r->status, 200, 'a second cancel while refused: 200' or diag $r->dump;
ok !defined problem()->{resolved_at}, '... the problem is open again';
ok problem()->{first_seen_at} gt $first, '... since now, not since the first time';
twilio_behave({});
done_testing();
