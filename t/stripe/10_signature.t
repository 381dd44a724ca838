# SPDX-License-Identifier: Apache-2.0
# POST /api/stripe/webhook: Stripe-Signature "t=<unix>,v1=<hex>[,v1=...]",
# HMAC-SHA256(webhook secret, t + "." + raw body). Unsigned, wrongly signed,
# tampered or stale: 400 and nothing changes; any one matching v1 is enough.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use Digest::SHA qw(hmac_sha256_hex);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

# A booking whose deposit Stripe has not decided yet.
stripe_behave({ status => 'processing' });
my $s = scenario(customers => 2);
my ($c1, $c2) = @{ $s->{customers} };
my $r = sms($c1->{phone}, 'YES');
like $r->{message} // '', qr/^Booked:/, 'setup: booked' or diag $r->dump;
my ($appt) = @{ appointment_of_slot($s->{slot_id}) };
my $pay = payment_of($appt->{id});
is $pay->{status}, 'processing', 'setup: payment processing';
my $pi = $pay->{stripe_payment_intent_id};
like $pi, qr/^pi_/, 'setup: PaymentIntent id stored';

my $failed = stripe_event(type => 'payment_intent.payment_failed', pi => $pi,
    metadata => { payment_id => "$pay->{id}", appointment_id => "$appt->{id}", slot_opening_id => "$s->{slot_id}" });
my $secret = stripe_webhook_secret();
my $now = time;
my $good_sig = hmac_sha256_hex("$now.$failed", $secret);

sub unchanged {
    my ($what) = @_;
    is db_count('stripe_events'), 0, "$what: no stripe_events row";
    is payment_of($appt->{id})->{status}, 'processing', "$what: payment still processing";
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'awaiting_payment',
        "$what: booking still awaiting payment";
    is slot($s->{slot_id})->{status}, 'filled', "$what: slot still filled";
}

my @refused = (
    [ 'no Stripe-Signature',            header => undef ],
    [ 'empty Stripe-Signature',         header => '' ],
    [ 'signed with another secret',     secret => 'whsec_not_the_right_one' ],
    [ 'timestamp 301 s old',            timestamp => $now - 301 ],
    [ 'timestamp an hour old',          timestamp => $now - 3600 ],
    [ 'timestamp 10 minutes ahead',     timestamp => $now + 600 ],
    [ 'signature of another body',      header => 't=' . $now . ',v1=' . hmac_sha256_hex("$now.{}", $secret) ],
    [ 'right v1 but another t',         header => 't=' . ($now - 1) . ",v1=$good_sig" ],
    [ 'no timestamp',                   header => "v1=$good_sig" ],
    [ 'no v1 (v0 only)',                header => "t=$now,v0=$good_sig" ],
    [ 'several v1, none right',         header => "t=$now,v1=" . ('0' x 64) . ',v1=' . ('f' x 64) ],
    [ 'v1 upper-cased hex',             header => "t=$now,v1=" . uc $good_sig ],
    [ 'v1 truncated',                   header => "t=$now,v1=" . substr($good_sig, 0, 63) ],
    [ 'non-numeric timestamp',          header => "t=${now}x,v1=$good_sig" ],
    [ 'garbage header',                 header => 'hello' ],
);
for my $case (@refused) {
    my ($what, %o) = @$case;
    my $res = post_stripe_event($failed, %o);
    is $res->status, 400, "$what: 400" or diag $res->dump;
}
unchanged('after the refused deliveries');
is scalar @{ offer_sms_to($c2->{phone}) }, 0, 'the next customer was not offered';

# The body tampered with after signing (one byte).
{
    (my $tampered = $failed) =~ s/Your card was declined/Your card was declinex/;
    my $res = post_stripe_event($tampered, header => stripe_signature($failed));
    is $res->status, 400, 'body changed after signing: 400' or diag $res->dump;
    unchanged('tampered');
}

# Within the tolerance: accepted (an event type that changes nothing).
{
    my $ev = stripe_event(type => 'charge.refunded', object => { id => 'ch_x', object => 'charge' });
    my $res = post_stripe_event($ev, timestamp => $now - 200);
    is $res->status, 200, 'timestamp 200 s old: accepted' or diag $res->dump;
    $res = post_stripe_event(stripe_event(type => 'charge.refunded', object => { id => 'ch_y', object => 'charge' }),
        timestamp => $now + 100);
    is $res->status, 200, 'timestamp 100 s ahead: accepted' or diag $res->dump;
    is db_count('stripe_events'), 0, '... and not recorded (a type the module does not use)';
}

# Several v1 values, only one right (a secret being rolled): accepted.
{
    my $succeeded = stripe_event(type => 'payment_intent.succeeded', pi => $pi,
        metadata => { payment_id => "$pay->{id}" });
    my $t = time;
    my $right = hmac_sha256_hex("$t.$succeeded", $secret);
    my $wrong = hmac_sha256_hex("$t.$succeeded", 'whsec_old_secret');
    my $res = post_stripe_event($succeeded, header => "t=$t,v1=$wrong,v1=$right,v0=" . ('a' x 64));
    is $res->status, 200, 'several v1 values, the second right: 200' or diag $res->dump;
    like $res->content_type // '', qr{^application/json}, '... JSON';
    is $res->json && $res->json->{received} ? 1 : 0, 1, '... received: true';
    is payment_of($appt->{id})->{status}, 'succeeded', '... the event was applied: payment succeeded';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt->{id})->{status}, 'confirmed',
        '... booking confirmed';

    my $again = stripe_event(type => 'charge.refunded', object => { id => 'ch_z', object => 'charge' });
    $t = time;
    $res = post_stripe_event($again, header => "t=$t, v1=" . hmac_sha256_hex("$t.$again", $secret)
        . ', v1=' . ('1' x 64));
    is $res->status, 200, 'spaces after the commas, right v1 first: 200' or diag $res->dump;
}

done_testing();
