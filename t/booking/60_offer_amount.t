# SPDX-License-Identifier: Apache-2.0
# The deposit charged at YES is the one the offer SMS named, fixed on the offer
# when it was sent: a PATCH /api/shops/{id} in between (amount, currency, a
# deposit added or removed) changes neither the payment row, nor the
# PaymentIntent sent to Stripe, nor the reply; a retried send names the amount
# of its first attempt.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

reset_db();
twilio_reset();
stripe_reset();

sub patch_shop {
    my ($shop_id, %fields) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $r = api(PATCH => "/api/shops/$shop_id", \%fields);
    is $r->status, 200, 'setup: PATCH the shop: ' . join(', ', map { "$_ $fields{$_}" } sort keys %fields)
        or diag $r->dump;
}

# --- 2000 EUR offered, the shop then asks 5000 USD: 2000 EUR charged --------------------------
{
    my $s = scenario(customers => 2, shop => { depositAmount => 2000, currency => 'eur' });
    my ($c1) = @{ $s->{customers} };
    my ($offer_sms) = @{ offer_sms_to($c1->{phone}) };
    like $offer_sms && $offer_sms->{form}{Body}, qr/\(20\.00 EUR deposit\)/, 'the offer SMS names 20.00 EUR';
    my $o = offer_of($s->{slot_id}, $c1->{id});
    is "$o->{deposit_amount} $o->{currency}", '2000 eur', '... and the offer keeps 2000 eur';

    patch_shop($s->{shop}{id}, depositAmount => 5000, currency => 'usd');

    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked: .*Your 20\.00 EUR deposit will be charged to your saved card\.$/,
        'YES: the reply says 20.00 EUR' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is $a && $a->{status}, 'confirmed', '... booked and confirmed';
    my $p = $a ? payment_of($a->{id}) : {};
    is "$p->{amount} $p->{currency}", '2000 eur', 'the payment row is 2000 eur';
    my $pis = stripe_payment_intents();
    is scalar @$pis, 1, 'one PaymentIntent request';
    my $f = $pis->[0] ? $pis->[0]{form} : {};
    is(($f->{amount} // '') . ' ' . ($f->{currency} // ''), '2000 eur', '... for 2000 eur');
    my $view = api(GET => "/api/appointments/$a->{id}");
    is(($view->json->{payment}{amount} // '') . ' ' . ($view->json->{payment}{currency} // ''), '2000 eur',
        'GET /api/appointments/{id}: payment 2000 eur');
}

# --- offered without a deposit, the shop then asks one: no charge, no card needed ------------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 1, cards => [0], shop => { depositAmount => 0 });
    my $c1 = $s->{customers}[0];
    my ($offer_sms) = @{ offer_sms_to($c1->{phone}) };
    unlike $offer_sms && $offer_sms->{form}{Body}, qr/deposit/, 'no deposit: the offer SMS names none';
    patch_shop($s->{shop}{id}, depositAmount => 5000);

    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/^Booked: .*See you then!$/, 'YES: booked without a deposit' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    is $a && $a->{status}, 'confirmed', '... confirmed at once';
    is db_count('payments'), 0, '... no payment row';
    is scalar @{ stripe_requests() }, 0, '... nothing sent to Stripe';
}

# --- offered with a deposit, the shop then drops it: the deposit agreed to is charged ---------
{
    reset_db(); twilio_reset(); stripe_reset();
    my $s = scenario(customers => 1, shop => { depositAmount => 1500, currency => 'gbp' });
    my $c1 = $s->{customers}[0];
    patch_shop($s->{shop}{id}, depositAmount => 0);

    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/Your 15\.00 GBP deposit/, 'YES: the reply names the 15.00 GBP offered'
        or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = $a ? payment_of($a->{id}) : undef;
    is $p && "$p->{amount} $p->{currency}", '1500 gbp', '... and 1500 gbp is charged';
}

# --- a send that failed and is retried after the PATCH still names the first amount ------------
{
    reset_db(); twilio_reset(); stripe_reset();
    twilio_behave({ failAll => 503, failCount => 1 });
    my $s = scenario(customers => 1, shop => { depositAmount => 2500, currency => 'eur' });
    my $c1 = $s->{customers}[0];
    my $o = offer_of($s->{slot_id}, $c1->{id});
    is $o && $o->{status}, 'pending', 'setup: the first send failed, the offer waits for its retry';
    is $o && "$o->{deposit_amount} $o->{currency}", '2500 eur', '... with 2500 eur fixed at that first attempt';
    patch_shop($s->{shop}{id}, depositAmount => 9900, currency => 'usd');
    db_do(q{UPDATE slot_offers SET next_attempt_at = now() - interval '1 second' WHERE id = ?}, $o->{id});
    sweep();
    my @sms = @{ sms_to($c1->{phone}) };
    is scalar @sms, 2, 'the retry went out';
    like $sms[1] && $sms[1]{form}{Body}, qr/\(25\.00 EUR deposit\)/, '... naming 25.00 EUR, as the first attempt';
    is offer_of($s->{slot_id}, $c1->{id})->{status}, 'sent', '... the offer is sent';

    my $r = sms($c1->{phone}, 'YES');
    like $r->{message} // '', qr/Your 25\.00 EUR deposit/, 'YES: 25.00 EUR' or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $p = $a ? payment_of($a->{id}) : undef;
    is $p && "$p->{amount} $p->{currency}", '2500 eur', '... 2500 eur charged';
}

done_testing();
