# SPDX-License-Identifier: Apache-2.0
# Signed Stripe events whose JSON is not valid UTF-8, or whose strings hold
# \u0000 (PostgreSQL text cannot) or a lone surrogate: jansson refuses them
# (sr_json_parse does not pass JSON_ALLOW_NUL), so the webhook answers a clear
# 400 that says why, before any SQL: nothing recorded, nothing changed, no
# 503 (which Stripe would retry for days).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

my ($s, $a, $p) = processing_booking();
my $pi = $p->{stripe_payment_intent_id};
my $state = sub {
    join ' ', db_count('stripe_events'), db_row('SELECT status FROM payments WHERE id = ?', $p->{id})->{status},
        db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status};
};
my $before = $state->();
is $before, '0 processing awaiting_payment', 'before: no event, the payment processing';

# A payment_intent.succeeded event for our payment, with one string spoilt.
my $good = stripe_event(type => 'payment_intent.succeeded', pi => $pi, metadata => { payment_id => "$p->{id}" },
    id => 'evt_text_PLACEHOLDER');
my $offset = error_log_mark();
for my $case (
    [ 'a raw 0xFF byte in a string',        "evt_text_\xFF",             qr/unable to decode byte 0xff/ ],
    [ 'a cut UTF-8 sequence',               "evt_text_\xE2\x82",         qr/unable to decode byte/ ],
    [ 'an overlong form',                   "evt_text_\xC0\xAF",         qr/unable to decode byte/ ],
    [ 'a \\u0000 escape',                   'evt_text_\\u0000',          qr/\\u0000 is not allowed/ ],
    [ 'a lone surrogate escape',            'evt_text_\\ud800',          qr/invalid Unicode '\\uD800'/ ],
    ) {
    my ($what, $id, $re) = @$case;
    (my $payload = $good) =~ s/evt_text_PLACEHOLDER/$id/;
    my $r = post_stripe_event($payload);
    is $r->status, 400, "$what: 400" or diag $r->dump;
    like $r->json && $r->json->{error} // '', qr/^event is not a JSON object: .*$re/, '... saying why';
    is $state->(), $before, '... nothing recorded or changed';
}
# The same with the bad bytes in last_payment_error.message of a failure event.
{
    my $payload = stripe_event(type => 'payment_intent.payment_failed', pi => $pi,
        metadata => { payment_id => "$p->{id}" }, message => 'MSG');
    for my $bad ("\xFF", '\\u0000') {
        (my $x = $payload) =~ s/MSG/Declined$bad/;
        my $r = post_stripe_event($x);
        is $r->status, 400, 'a failure message with ' . ($bad eq "\xFF" ? '0xFF' : '\\u0000') . ': 400'
            or diag $r->dump;
        is $state->(), $before, '... nothing changed';
    }
}
my $log = error_log_since($offset);
like $log, qr/mod_slotrecovery: POST \/api\/stripe\/webhook: 400 event is not a JSON object/, 'logged as a 400';
unlike $log, qr/statement .* failed|invalid byte sequence|webhook: 5\d\d/, '... no failed statement, no 5xx';

# The same event, clean: handled.
(my $clean = $good) =~ s/evt_text_PLACEHOLDER/evt_text_clean/;
my $r = post_stripe_event($clean);
is $r->status, 200, 'the event without the bad text: 200' or diag $r->dump;
is $state->(), '1 succeeded confirmed', '... recorded, the booking confirmed';

done_testing();
