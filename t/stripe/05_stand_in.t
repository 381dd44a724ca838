# SPDX-License-Identifier: Apache-2.0
# The Stripe stand-in is as strict as Stripe (docs.stripe.com/api/idempotent_requests, error codes,
# currencies#minimum-and-maximum-charge-amounts, testing#authentication-and-setup): a key reused with other
# parameters is refused, a key whose first request is still running answers 409, a validation error is not
# saved under its key, restricted keys work, off-session authentication_required, per-currency minimums, and
# the list the sweep looks a PaymentIntent up with.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use HTTP::Tiny ();
use POSIX ();
use Time::HiRes ();
use SlotRecovery::Test qw(:all);

plan tests => 38;

my $ua = HTTP::Tiny->new(timeout => 30, keep_alive => 0);

sub create {
    my ($form, %o) = @_;
    my $res = $ua->post_form(stripe_url('/v1/payment_intents'), $form, { headers => {
        Authorization => 'Bearer ' . ($o{api_key} // stripe_secret_key()),
        ($o{key} ? ('Idempotency-Key' => $o{key}) : ()) } });
    my $body = eval { decode_json($res->{content}) } || {};
    return ($res, $body);
}

my %CHARGE = (amount => 2000, currency => 'usd', customer => 'cus_a', payment_method => 'pm_card_visa',
              confirm => 'true', off_session => 'true', 'metadata[payment_id]' => 1);

stripe_reset();

# --- a key reused with other parameters: 400 idempotency_error, nothing made ---------------------------
{
    my ($r1, $b1) = create(\%CHARGE, key => 'strict-1');
    is $r1->{status}, 200, 'a charge with a key: 200';
    my ($r2, $b2) = create({ %CHARGE, amount => 2500 }, key => 'strict-1');
    is $r2->{status}, 400, 'the same key with another amount: 400';
    is $b2->{error}{type}, 'idempotency_error', '... idempotency_error';
    my ($r3, $b3) = create(\%CHARGE, key => 'strict-1');
    is $r3->{status}, 200, 'the same key and parameters: the first answer';
    is $b3->{id}, $b1->{id}, '... the same PaymentIntent';
    is $r3->{headers}{'idempotent-replayed'}, 'true', '... Idempotent-Replayed: true';
    my $pis = $ua->get(stripe_url('/v1/payment_intents?customer=cus_a&limit=100'),
        { headers => { Authorization => 'Bearer ' . stripe_secret_key() } });
    is scalar @{ decode_json($pis->{content})->{data} }, 1, 'one PaymentIntent in all';
}

# --- two requests with one key at once: the second answers 409 ---------------------------------------
{
    stripe_reset();
    stripe_behave({ slowCreate => 2 });
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        create(\%CHARGE, key => q{strict-2});
        POSIX::_exit(0);
    }
    # The stand-in records a request when it answers it: give the child's a head start, and prove the
    # overlap with the stand-in's own timestamps below.
    Time::HiRes::sleep(0.5);
    my ($r, $b) = create(\%CHARGE, key => 'strict-2');
    is $r->{status}, 409, 'the same key while the first request runs: 409';
    is $b->{error}{type}, 'idempotency_error', '... idempotency_error';
    like $b->{error}{message} // '', qr/in-progress request/, '... "another in-progress request"';
    waitpid $pid, 0;
    my @reqs = grep { $_->{path} eq '/v1/payment_intents' } @{ stripe_requests() };
    my ($first) = grep { $_->{status} == 200 } @reqs;
    my ($conflict) = grep { $_->{status} == 409 } @reqs;
    ok $first && $conflict && $conflict->{time} >= $first->{time} && $conflict->{time} < $first->{time} + 2,
        '... the two overlapped at the stand-in (timestamps)';
    stripe_behave({});
    ($r, $b) = create(\%CHARGE, key => 'strict-2');
    is $r->{status}, 200, 'after the first finished: its answer';
    is $r->{headers}{'idempotent-replayed'}, 'true', '... replayed';
    is scalar(grep { $_->{status} == 200 && !$_->{replayed} } @{ stripe_requests() }), 1, 'one PaymentIntent made';
}

# --- a validation 400 is not saved: the corrected retry with the key is processed ------------------
{
    stripe_reset();
    my ($r, $b) = create({ %CHARGE, amount => 'abc' }, key => 'strict-3');
    is $r->{status}, 400, 'an invalid amount: 400';
    is $b->{error}{code}, 'parameter_invalid_integer', '... parameter_invalid_integer';
    ($r, $b) = create(\%CHARGE, key => 'strict-3');
    is $r->{status}, 200, 'the corrected request with the same key: processed';
    ok !$r->{headers}{'idempotent-replayed'}, '... not a replay';
    is $b->{status}, 'succeeded', '... the PaymentIntent succeeded';

    ($r, $b) = create({ %CHARGE, amount => 30 }, key => 'strict-4');
    is $r->{status}, 400, '30 cents in usd: 400';
    is $b->{error}{type}, 'invalid_request_error', '... invalid_request_error';
    is $b->{error}{code}, 'amount_too_small', '... amount_too_small';
    ($r, $b) = create({ %CHARGE, amount => 30, currency => 'gbp' }, key => 'strict-4');
    is $r->{status}, 200, '30 pence: the minimum in gbp; the key was not saved with the refusal';
    ($r, $b) = create({ %CHARGE, amount => 17499, currency => 'huf' });
    is $b->{error}{code}, 'amount_too_small', 'huf below 17500: amount_too_small';
}

# --- a 500 is saved and replayed under its key ---------------------------------------------------
{
    stripe_reset();
    stripe_behave({ failAll => 500, failCount => 1 });
    my ($r) = create(\%CHARGE, key => 'strict-5');
    is $r->{status}, 500, 'a 500';
    ($r) = create(\%CHARGE, key => 'strict-5');
    is $r->{status}, 500, '... replayed for the same key even once Stripe works again';
    is $r->{headers}{'idempotent-replayed'}, 'true', '... Idempotent-Replayed';
}

# --- API keys: secret and restricted ------------------------------------------------------------
{
    stripe_reset();
    my ($r) = create(\%CHARGE, api_key => 'rk_test_restricted0123');
    is $r->{status}, 200, 'a restricted key (rk_test_...) works, as the README says';
    stripe_behave({ restrictedPermissions => ['rak_payment_intent_read'] });
    my $b;
    ($r, $b) = create(\%CHARGE, api_key => 'rk_test_restricted0123');
    is $r->{status}, 403, 'a restricted key without PaymentIntents write: 403';
    like $b->{error}{message} // '', qr/rak_payment_intent_write/, '... naming the permission';
    stripe_behave({});
    ($r) = create(\%CHARGE, api_key => 'pk_test_publishable0123');
    is $r->{status}, 401, 'a publishable key: 401';
    ($r) = create(\%CHARGE, api_key => '');
    is $r->{status}, 401, 'no key: 401';
}

# --- off-session, a card that wants authentication -----------------------------------------------
for my $pm ('pm_card_authenticationRequired', 'pm_card_4000002760003184') {
    stripe_reset();
    my ($r, $b) = create({ %CHARGE, payment_method => $pm });
    is $r->{status}, 402, "$pm off-session: 402";
    ok $b->{error}{type} eq 'card_error' && $b->{error}{code} eq 'authentication_required',
        '... card_error, authentication_required';
    is $b->{error}{payment_intent}{status}, 'requires_payment_method', '... the intent requires_payment_method';
}
