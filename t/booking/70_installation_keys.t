# SPDX-License-Identifier: Apache-2.0
# Idempotency keys and PaymentIntent metadata carry this installation's id
# (table installation, migration 005): two installations (or a database
# restored from a backup, which issues the same payment ids again) sharing one
# Stripe account never send the same key for different deposits.
use strict;
use warnings;

use Apache::Test qw(-withtestmore);
use SlotRecovery::Test qw(:all);
use SlotRecovery::Flows qw(:all);

sub installation_id { (db()->selectrow_array('SELECT id FROM installation'))[0] }

# One booking with its deposit: (payment row, the PaymentIntent request Stripe got).
sub book_one {
    my ($what) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    my $before = scalar @{ stripe_payment_intents() };
    my $s = scenario(customers => 1);
    my $r = sms($s->{customers}[0]{phone}, 'YES');
    like $r->{message} // '', qr/^Booked:/, "$what: booked" or diag $r->dump;
    my ($a) = @{ appointment_of_slot($s->{slot_id}) };
    my $pis = stripe_payment_intents();
    is scalar @$pis, $before + 1, "$what: one PaymentIntent request";
    return (payment_of($a->{id}), $pis->[-1] || { form => {}, headers => {}, response => {} }, $a, $s);
}

reset_all();
my $inst = installation_id();
like $inst // '', qr/^[0-9a-f]{32}$/, 'setup: the installation id (32 hex)';

# --- the key and the metadata -----------------------------------------------------------------
my ($p1, $req1, $a1, $s1) = book_one('first installation');
my $key1 = $req1->{headers}{'idempotency-key'} // '';
like $key1, qr/^slotrecovery-\Q$inst\E-deposit-\Q$p1->{id}\E-[0-9a-f]{32}$/,
    'Idempotency-Key: slotrecovery-<installation id>-deposit-<payment id>-<the payment\'s own token>';
ok length $key1 <= 255, '... within Stripe\'s 255 characters';
is $req1->{form}{'metadata[installation_id]'}, $inst, 'metadata[installation_id] = the installation id';
is $req1->{form}{'metadata[payment_id]'}, "$p1->{id}", '... next to metadata[payment_id]';
is $req1->{response}{metadata}{installation_id}, $inst, 'Stripe keeps it on the PaymentIntent';
is $p1->{status}, 'succeeded', 'the deposit succeeded';

# A retry after an answer Stripe did not save (a proxy's 502 page) sends the same key again. (A 500 is
# saved by Stripe under its key: the retry after one takes a key of its own, t/stripe/75_retry_after_500.t.)
{
    stripe_behave({ fail => 'non_json' });
    my ($p, $req) = book_one('Stripe down');
    is $p->{status}, 'pending', 'Stripe down: payment pending';
    stripe_behave({});
    db_do(q{UPDATE payments SET next_attempt_at = now() - interval '1 second' WHERE id = ?}, $p->{id});
    sweep();
    my $pis = stripe_payment_intents();
    is scalar @$pis, 3, 'the sweep asked Stripe again';
    is $pis->[-1]{headers}{'idempotency-key'}, $req->{headers}{'idempotency-key'}, '... with the same key';
    is_deeply $pis->[-1]{form}, $req->{form}, '... and the same parameters';
}

# A payment made before migration 007 (no key_token) keeps the key and the
# parameters its first attempts were sent with: Stripe refuses a key reused
# with other parameters, and a retry must not charge twice.
{
    stripe_behave({ fail => 'non_json' });
    my ($p) = book_one('a payment from before migration 007');
    stripe_behave({});
    db_do(q{UPDATE payments SET key_token = NULL, next_attempt_at = now() - interval '1 second' WHERE id = ?},
        $p->{id});
    sweep();
    my $req = stripe_payment_intents()->[-1];
    is $req->{headers}{'idempotency-key'}, "slotrecovery-deposit-$p->{id}", '... retried with the key of old';
    ok !exists $req->{form}{'metadata[installation_id]'}, '... and the parameters of old';
    is $req->{form}{'metadata[payment_id]'}, "$p->{id}", '... metadata[payment_id] as before';
}

# --- another installation (or a restore) on the same Stripe account --------------------------
# The database starts again from empty (ids restart at 1, as after a restore),
# and the Stripe stand-in keeps what it saw.
reset_db();
db_do(q{UPDATE installation SET id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'});
my ($p2, $req2, $a2) = book_one('second installation');
is $p2->{id}, $p1->{id}, 'setup: the second installation reuses payment id ' . $p1->{id};
my $key2 = $req2->{headers}{'idempotency-key'} // '';
like $key2, qr/^slotrecovery-a1b2c3d4e5f60718293a4b5c6d7e8f90-deposit-\Q$p2->{id}\E-/,
    'its key carries its own installation id';
isnt $key2, $key1, '... so it differs from the first installation\'s';
ok !$req2->{replayed}, 'Stripe did not replay the first installation\'s answer';
isnt $p2->{stripe_payment_intent_id}, $p1->{stripe_payment_intent_id}, 'a PaymentIntent of its own';
is $req2->{response}{customer}, $a2 && db_row('SELECT stripe_customer_id FROM customers WHERE id = ?',
    $a2->{customer_id})->{stripe_customer_id}, '... for its own customer';

# The same installation id again (a database restored from a backup): new
# payments with ids issued before still get keys of their own.
reset_db();
db_do(q{UPDATE installation SET id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'});
my ($p3, $req3) = book_one('restored database');
is $p3->{id}, $p2->{id}, 'setup: the restored database issues payment id ' . $p2->{id} . ' again';
isnt $req3->{headers}{'idempotency-key'}, $key2, 'a different key all the same';
ok !$req3->{replayed}, '... not replayed';
isnt $p3->{stripe_payment_intent_id}, $p2->{stripe_payment_intent_id}, '... a PaymentIntent of its own';

# The next file finds this installation's own id again (the reset keeps the installation row).
db_do(q{UPDATE installation SET id = ?}, $inst);

done_testing();
