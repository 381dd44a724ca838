# SPDX-License-Identifier: Apache-2.0
# An offer never outlives its slot: its expiry is at most the slot's start
# minus SlotRecoveryOfferCutoff, the SMS says the time really left, and a YES
# after that is too late (the sweep then expires the offer with the slot).
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Scenario qw(cancel conf_value offers_of sent_messages slot_view);
use SlotRecovery::Flows qw(sms sweep TOO_LATE_RE appointment_of_slot slot);

reset_all();

my $cutoff = conf_value('SlotRecoveryOfferCutoff', 300);

# An hour to answer, for a slot that starts in 20.5 minutes: the offer must end
# at the cutoff, 15.5 minutes from now, and the SMS say "15 min".
my $shop = make_shop(name => 'Late Cuts', offerTtlSeconds => 3600, depositAmount => 2000, currency => 'usd');
my $canceller = make_customer($shop->{id}, name => 'Cancels');
my $ann = make_customer($shop->{id}, name => 'Ann', stripeCustomerId => 'cus_ann', stripePaymentMethodId => 'pm_card_visa');
my $starts_in = 1200 + 30;
my $appt = make_appointment($shop->{id}, $canceller->{id}, startsAt => iso_in($starts_in),
    endsAt => iso_in($starts_in + 1800));
my $r = cancel($appt->{id});
is $r->status, 200, 'cancel: 200' or diag $r->dump;
my $slot_id = $r->json->{slotOpening}{id};

my $msgs = sent_messages();
is scalar @$msgs, 1, 'one SMS';
like $msgs->[0]{form}{Body}, qr/ Offer ends in 15 min\.$/,
    "the SMS says the time left before the cutoff (15 min), not the shop's hour" or diag $msgs->[0]{form}{Body};

my $gap = db_row(q{SELECT extract(epoch FROM o.starts_at - f.expires_at)::float8 AS before_start,
                          extract(epoch FROM f.expires_at - f.sent_at)::float8 AS ttl
                     FROM slot_offers f JOIN slot_openings o ON o.id = f.slot_opening_id
                    WHERE f.slot_opening_id = ?}, $slot_id);
cmp_ok abs($gap->{before_start} - $cutoff), '<=', 1, "row: expires_at is the slot's start minus the cutoff ($cutoff s)";
cmp_ok $gap->{ttl}, '<', 1000, '... well under offerTtlSeconds (3600)';

my $view = slot_view($slot_id);
my $offer = $view->{offers}[0];
cmp_ok db_row(q{SELECT extract(epoch FROM ?::timestamptz - ?::timestamptz)::float8 AS d},
    $view->{startsAt}, $offer->{expiresAt})->{d}, '>=', $cutoff - 1, 'the view: expiresAt before startsAt - cutoff';

# Drive time: 16 minutes later. The slot now starts within the cutoff and the
# offer has ended; before, it ran 44 more minutes and a YES booked the slot.
db_do(q{UPDATE slot_openings SET starts_at = starts_at - interval '16 minutes', ends_at = ends_at - interval '16 minutes',
               created_at = created_at - interval '16 minutes' WHERE id = ?}, $slot_id);
db_do(q{UPDATE slot_offers SET sent_at = sent_at - interval '16 minutes', expires_at = expires_at - interval '16 minutes',
               created_at = created_at - interval '16 minutes' WHERE slot_opening_id = ?}, $slot_id);
$r = sms($ann->{phone}, 'YES');
like $r->{message} // '', TOO_LATE_RE, 'a YES past the cutoff: too late' or diag $r->dump;
is scalar @{ appointment_of_slot($slot_id) }, 0, '... nothing booked';
is db_count('payments'), 0, '... nothing charged';
is scalar @{ stripe_payment_intents() }, 0, '... no PaymentIntent';
isnt slot($slot_id)->{status}, 'filled', '... the slot is not filled';

sweep();
is offers_of($slot_id)->[0]{status}, 'expired', 'the sweep expires the offer';
my $row = slot($slot_id);
is $row->{status}, 'expired', '... and the slot, now within its cutoff';
is scalar @{ sent_messages() }, 1, '... no SMS more';

# An offer whose slot is farther away than its TTL keeps the shop's TTL.
{
    my $far = make_shop(name => 'Far Cuts', offerTtlSeconds => 600);
    my $c = make_customer($far->{id}, name => 'C');
    make_customer($far->{id}, name => 'D');
    my $a = make_appointment($far->{id}, $c->{id}, startsAt => iso_in(7200), endsAt => iso_in(9000));
    my $s = cancel($a->{id})->json->{slotOpening};
    my $o = offers_of($s->{id})->[0];
    cmp_ok abs($o->{ttl} - 600), '<=', 1, 'a slot two hours away: the offer lasts offerTtlSeconds (600 s)';
    like sent_messages()->[-1]{form}{Body}, qr/ Offer ends in 10 min\.$/, '... and the SMS says 10 min';
}

done_testing();
