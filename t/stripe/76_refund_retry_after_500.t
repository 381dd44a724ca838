# SPDX-License-Identifier: Apache-2.0
# A refund whose first request got a 500 from Stripe: Stripe saves the 500 under the refund's
# Idempotency-Key and replays it, so the retry looks the refund up (GET /v1/refunds?payment_intent=...,
# matched by metadata) and adopts it, else asks with the key of that attempt (key + "-rN"). One refund.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);
use HTTP::Tiny ();

plan tests => 18;

sub refund_of { db_row('SELECT * FROM refunds WHERE payment_id = ?', $_[0]) }
sub refund_posts { [ grep { $_->{method} eq 'POST' && $_->{path} eq '/v1/refunds' } @{ stripe_requests() } ] }
sub sweep_until {
    my ($code) = @_;
    return wait_until(sub { sweep(); $code->() }, timeout => 15, interval => 0.2);
}

for my $after_create (0, 1) {
    my $label = $after_create ? 'a 500 after Stripe made the refund' : 'a 500 that made nothing';
    my ($s, $a, $p) = processing_booking(customers => 2);
    my $r = api(POST => "/api/appointments/$a->{id}/cancel");
    is $r->status, 200, "$label: the shop cancels while the deposit is processing" or diag $r->dump;
    stripe_behave({ only => '/v1/refunds', failAll => 500, failCount => 1,
                    ($after_create ? (failAfterCreate => json_true()) : ()) });
    post_stripe_event(stripe_event(type => 'payment_intent.succeeded', pi => $p->{stripe_payment_intent_id},
        metadata => { payment_id => "$p->{id}" }));
    ok sweep_until(sub { my $f = refund_of($p->{id}); $f && $f->{attempts} >= 1 && $f->{last_error} }),
        "$label: the first try got the 500";
    is refund_of($p->{id})->{status}, 'due', '... the refund stays due';
    stripe_behave({});
    make_payment_due($p->{id});
    ok sweep_until(sub { refund_of($p->{id})->{status} eq 'succeeded' }), '... refunded on a retry'
        or diag explain refund_of($p->{id});
    my $res = HTTP::Tiny->new->get(stripe_url("/v1/refunds?limit=100&payment_intent=$p->{stripe_payment_intent_id}"),
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    my $refunds = decode_json($res->{content})->{data} || [];
    is scalar @$refunds, 1, '... one refund at Stripe';
    is refund_of($p->{id})->{stripe_refund_id}, $refunds->[0] && $refunds->[0]{id}, '... the one recorded';
    my @keys = map { $_->{headers}{'idempotency-key'} } @{ refund_posts() };
    if ($after_create) {
        is scalar @keys, 1, '... adopted: not asked again';
    }
    else {
        is $keys[-1], "$keys[0]-r2", '... asked again with the key + "-r2"';
    }
}
