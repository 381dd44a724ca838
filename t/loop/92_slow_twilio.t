# SPDX-License-Identifier: Apache-2.0
# Twilio slower than SlotRecoveryHttpTimeout ("Seconds one call to Twilio or
# Stripe may take"): a throwaway httpd with a 2 s timeout, the stand-in taking
# 5 s. The cancel answers at once (it only writes the offer); the worker's
# send gives up at the timeout (within the timeout plus a margin, not after
# Twilio's 5 s), the offer stays pending with the error and is retried later.
#
# A timeout is not a refusal: Twilio may have sent that SMS (the stand-in does,
# 5 s later), and its Messages API takes no idempotency key, so the retry
# sends it again: the customer gets the offer twice. This test pins that down
# as it is (README, Troubleshooting: a timed-out send is sent again); a cure
# (the worker looking the message up at Twilio before a retry) is still to
# come. The same holds for a customer notification.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(offers_of make_offer_due messages_to);
use SlotRecovery::SideServer ();

reset_db();
twilio_reset();

my $TIMEOUT = 2;
my $SLOW = 5;
my $MARGIN = 2.5;    # curl's own bookkeeping and a loaded machine; still well under $SLOW
my $side = SlotRecovery::SideServer->start("SlotRecoveryHttpTimeout $TIMEOUT\n");

my $shop = make_shop(name => 'Slow Twilio Shop');
my $cx = make_customer($shop->{id}, name => 'Canceller');
my $w = make_customer($shop->{id}, name => 'Waiting');
my $appt = make_appointment($shop->{id}, $cx->{id});

twilio_behave({ delay => $SLOW });
my $r = $side->api(POST => "/api/appointments/$appt->{id}/cancel");
is $r->{status}, 200, "cancel while Twilio takes ${SLOW}s: 200" or diag "$r->{status} $r->{body}";
cmp_ok $r->{elapsed}, '<', $TIMEOUT, '... answered without waiting on Twilio (the worker sends the offer)';
my $w1 = $side->outbox;
cmp_ok $w1->{elapsed}, '>=', $TIMEOUT - 0.1, "the worker's pass waited for the ${TIMEOUT}s timeout";
cmp_ok $w1->{elapsed}, '<', $TIMEOUT + $MARGIN, "... and gave up then (in "
    . sprintf('%.2f', $w1->{elapsed}) . "s, Twilio takes ${SLOW}s)";
my $slot_id = $r->{json}{slotOpening}{id};
my ($o) = @{ offers_of($slot_id) };
is $o->{status}, 'pending', 'the offer is pending';
is $o->{attempts}, 1, '... after one attempt';
like $o->{last_error} // '', qr/Timeout was reached/, '... lastError says it timed out' or diag $o->{last_error};
ok !defined $o->{provider_message_id}, '... no message sid';

# Twilio finishes the request the module gave up on: that SMS went out.
ok wait_until(sub { grep { $_->{status} == 201 } @{ messages_to($w->{phone}) } }, timeout => $SLOW + 10),
    'Twilio accepted the send the module abandoned';

twilio_behave({});
make_offer_due($o->{id});
my $sw = $side->sweep;
cmp_ok $sw->{elapsed}, '<', $TIMEOUT + $MARGIN, 'Twilio fast again: the sweep retries';
($o) = @{ offers_of($slot_id) };
is $o->{status}, 'sent', '... the offer is sent';
is $o->{attempts}, 2, '... at attempt 2';
my @accepted = grep { $_->{status} == 201 } @{ messages_to($w->{phone}) };
is scalar @accepted, 2, 'the customer got the offer twice (the timed-out send and the retry): no idempotency at Twilio';
is $o->{provider_message_id}, $accepted[-1]{response}{sid}, "... the offer records the retry's sid";
is scalar @{ messages_to($w->{phone}) }, 2, '... two sends in all';

# --- a customer notification: the same ---------------------------------------------------------------------
{
    twilio_reset();
    db_do(q{INSERT INTO customer_notifications (customer_id, kind, to_number, from_number, body)
            SELECT c.id, 'deposit_failed', c.phone, s.sms_from, 'Slow Twilio Shop: test notification'
              FROM customers c JOIN shops s ON s.id = c.shop_id WHERE c.id = ?}, $cx->{id});
    my $nid = db_row('SELECT id FROM customer_notifications WHERE customer_id = ?', $cx->{id})->{id};
    twilio_behave({ delay => $SLOW });
    my $s1 = $side->sweep;
    cmp_ok $s1->{elapsed}, '<', $TIMEOUT + $MARGIN, 'notification: the sweep gives up on Twilio at the timeout ('
        . sprintf('%.2f', $s1->{elapsed}) . 's)';
    my $n = db_row('SELECT status, attempts, last_error FROM customer_notifications WHERE id = ?', $nid);
    is_deeply [ $n->{status}, $n->{attempts} ], [ 'pending', 1 ], '... pending after one attempt';
    like $n->{last_error} // '', qr/Timeout was reached/, '... timed out';
    ok wait_until(sub { grep { $_->{status} == 201 } @{ messages_to($cx->{phone}) } }, timeout => $SLOW + 10),
        '... which Twilio did send';
    twilio_behave({});
    db_do(q{UPDATE customer_notifications SET next_attempt_at = now() WHERE id = ?}, $nid);
    $side->sweep;
    $n = db_row('SELECT status, attempts FROM customer_notifications WHERE id = ?', $nid);
    is $n->{status}, 'sent', '... sent by the retry';
    is scalar(grep { $_->{status} == 201 } @{ messages_to($cx->{phone}) }), 2, '... so the customer got it twice';
}

done_testing();
