# SPDX-License-Identifier: Apache-2.0
# README, Keys and metadata: "With no `installation` row no PaymentIntent is
# created: the payment waits, logged at `error`." The row is taken away for
# the YES and put back (also by END if the test dies): meanwhile nothing goes
# to Stripe, the booking holds, the payment is pending and an error-level line
# says why; once the row is back, the due retry creates the PaymentIntent with
# this installation's key and the booking is confirmed.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(scenario sms payment_of appointment_of_slot make_payment_due sweep
    error_log_mark error_log_since);

reset_db(); twilio_reset(); stripe_reset();
my $s = scenario(customers => 2);
my ($c1, $c2) = @{ $s->{customers} };

my $row = db_row('SELECT * FROM installation');
ok $row && $row->{id}, 'setup: the installation row';
my $removed = 0;
sub put_back {
    return unless $removed;
    db_do('INSERT INTO installation (singleton, id, csrf_key, created_at) VALUES (?, ?, ?, ?)',
        $row->{singleton}, $row->{id}, $row->{csrf_key}, $row->{created_at});
    $removed = 0;
}
END { put_back() }
db_do('DELETE FROM installation');
$removed = 1;

my $mark = error_log_mark();
my $r = sms($c1->{phone}, 'YES');
is $r->status, 200, 'YES without an installation row: 200' or diag $r->dump;
my ($a) = @{ appointment_of_slot($s->{slot_id}) };
ok $a, 'a booking was made';
is $a && $a->{status}, 'awaiting_payment', '... it holds, awaiting payment';
my $p = $a && payment_of($a->{id});
is $p && $p->{status}, 'pending', '... the payment waits (pending)';
ok $p && !defined $p->{stripe_payment_intent_id}, '... with no PaymentIntent';
is scalar @{ stripe_payment_intents() }, 0, 'nothing was sent to Stripe';
my $log = '';
my $line = qr/\[slotrecovery:error\][^\n]*mod_slotrecovery: payment \d+ waits: table installation has no row/;
wait_until(sub { ($log = error_log_since($mark)) =~ $line }, timeout => 5);
like $log, $line, 'an error-level log line says why' or diag $log;

make_payment_due($p->{id});
sweep();
is scalar @{ stripe_payment_intents() }, 0, 'a sweep while the row is missing sends nothing either';
is payment_of($a->{id})->{status}, 'pending', '... the payment still waits';

put_back();
make_payment_due($p->{id});
sweep();
my $pi = stripe_payment_intents();
is scalar @$pi, 1, 'the row is back: one PaymentIntent';
like $pi->[0] && $pi->[0]{headers}{'idempotency-key'} // '', qr/^slotrecovery-\Q$row->{id}\E-deposit-$p->{id}-/,
    "... with this installation's key";
is payment_of($a->{id})->{status}, 'succeeded', '... the payment succeeded';
is db_row('SELECT status FROM appointments WHERE id = ?', $a->{id})->{status}, 'confirmed', 'the booking is confirmed';

done_testing();
