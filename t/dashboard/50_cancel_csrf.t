# Cancelling from the dashboard: POST /app/appointments/{id}/cancel with the
# form's csrf token cancels the appointment and opens its slot exactly as the
# API cancel does (the first offer goes out at once), then 303s back; without
# the token, with a wrong one, another user's, or one in the query string it
# is 403 and nothing changes; another shop's appointment is 404; GET is 405;
# mounted, it redirects under the mount and offers carry the mount's URLs.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Encode ();
use HTML::TreeBuilder ();
use MIME::Base64 ();
use POSIX qw(floor strftime);
use SlotRecovery::Test qw(:all);

plan tests => 68;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $TZ = 'America/New_York';

reset_all();

my $shop = make_shop(name => 'Cancel Parlour', smsFrom => '+15005550501');
my $theirs = make_shop(name => 'Other Parlour', smsFrom => '+15005550502');
grant($shop->{id}, 'owner1');
grant($theirs->{id}, 'owner2');

my $day = floor(time / 86400) * 86400;
my @T = map { $day + ($_ + 2) * 86400 + 16 * 3600 } 0 .. 4;
my $canc = make_customer($shop->{id}, name => 'Connie Cancel', smsOptIn => json_false());
my $wait = make_customer($shop->{id}, name => 'Walt Wait', phone => '+15557775001');
my $o_canc = make_customer($theirs->{id}, name => 'Otto Other', smsOptIn => json_false());
my @appt = map { make_appointment($shop->{id}, $canc->{id}, startsAt => iso_at($_), endsAt => iso_at($_ + 1800)) } @T;
my $o_appt = make_appointment($theirs->{id}, $o_canc->{id}, startsAt => iso_at($T[0]), endsAt => iso_at($T[0] + 1800));
my $ap = $appt[0];

# The tokens of the forms.
my $list = tree(page(owner1 => '/app/appointments'));
my %token = map { ($_->attr('action') =~ m{/appointments/(\d+)/cancel$})[0] => $_->look_down(name => 'csrf')->attr('value') }
    $list->look_down(_tag => 'form', method => 'post');
$list->delete;
is_deeply [ sort { $a <=> $b } keys %token ], [ sort { $a <=> $b } map { $_->{id} } @appt ],
    'the list has a cancel form for each upcoming appointment';
my $csrf = $token{ $ap->{id} };
like $csrf, qr/^[0-9a-f]{64}$/, '... with a csrf token';
my $t = tree(page(owner1 => "/app/appointments/$ap->{id}"));
is $t->look_down(_tag => 'input', name => 'csrf')->attr('value'), $csrf, 'the appointment page\'s form has the same token';
$t->delete;
$t = tree(page(owner2 => '/app/appointments'));
my $csrf2 = $t->look_down(_tag => 'input', name => 'csrf')->attr('value');
$t->delete;
isnt $csrf2, $csrf, 'owner2\'s token differs';

# --- refused: 403, nothing changes ---------------------------------------------------------
twilio_reset();
my $state = sub {
    my $row = db_row('SELECT status, cancelled_at FROM appointments WHERE id = ?', $ap->{id});
    return join ' ', $row->{status}, defined $row->{cancelled_at} ? 'cancelled_at' : '-',
        db_count('slot_openings'), db_count('slot_offers'), scalar @{ twilio_messages() };
};
my $before = $state->();
is $before, 'booked - 0 0 0', 'before: booked, no slot opening, no offer, no SMS';
my $wrong = substr($csrf, 0, 63) . (substr($csrf, 63) eq '0' ? '1' : '0');
for my $case ([ 'no csrf field', {} ],
              [ 'an empty csrf', { csrf => '' } ],
              [ 'a wrong csrf (last digit changed)', { csrf => $wrong } ],
              [ 'the token upper-cased', { csrf => uc $csrf } ],
              [ 'the token with more appended', { csrf => $csrf . '00' } ],
              [ 'a long token (over 128 bytes) starting with it', { csrf => $csrf x 3 } ],
              [ 'the first 32 characters only', { csrf => substr($csrf, 0, 32) } ],
              [ "owner2's token", { csrf => $csrf2 } ],
              [ 'a field named differently', { token => $csrf } ]) {
    my ($what, $form) = @$case;
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", $form);
    is $r->status, 403, "$what: 403" or diag $r->dump;
    is $state->(), $before, '... nothing changed';
}
{
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel?csrf=$csrf", {});
    is $r->status, 403, 'the token in the query string only: 403' or diag $r->dump;
    like $r->{html}, qr{did not come from this dashboard}, '... an HTML page saying why';
    is $state->(), $before, '... nothing changed';

    $r = api(POST => "/app/appointments/$ap->{id}/cancel", undef, no_secret => 1, headers => auth('owner1'));
    is $r->status, 403, 'an empty POST: 403' or diag $r->dump;

    $r = page(owner1 => "/app/appointments/$ap->{id}/cancel");
    is $r->status, 405, 'GET .../cancel: 405' or diag $r->dump;
    like $r->header('Allow') // '', qr/POST/, '... Allow: POST';
    is $state->(), $before, '... nothing changed';

    # Someone else's appointment, with this user's own valid token.
    $r = post_form(owner1 => "/app/appointments/$o_appt->{id}/cancel", { csrf => $csrf });
    is $r->status, 404, 'another shop\'s appointment with a valid token: 404' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $o_appt->{id})->{status}, 'booked', '... still booked';
    $r = post_form(owner1 => '/app/appointments/987654/cancel', { csrf => $csrf });
    is $r->status, 404, 'an unknown appointment: 404' or diag $r->dump;
    is $state->(), $before, '... nothing changed';
}

# --- the right token: cancelled, slot opened, first offer sent --------------------------------
my $slot;
{
    my $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", { csrf => $csrf });
    is $r->status, 303, 'the right token: 303' or diag $r->dump;
    is $r->header('Location'), '/app/appointments', '... back to /app/appointments';
    my $row = db_row('SELECT status, cancelled_at FROM appointments WHERE id = ?', $ap->{id});
    is $row->{status}, 'cancelled', '... the appointment is cancelled';
    ok defined $row->{cancelled_at}, '... cancelled_at set';
    $slot = db_row(q{SELECT *, sr_rfc3339(starts_at) AS s, sr_rfc3339(ends_at) AS e FROM slot_openings
                     WHERE source_appointment_id = ?}, $ap->{id});
    ok $slot, '... a slot opening';
    is "$slot->{status} $slot->{s} $slot->{e}", "open $ap->{startsAt} $ap->{endsAt}", '... open, at the appointment\'s time';
    is $slot->{shop_id}, $shop->{id}, '... in the shop';
    is $slot->{public_url_prefix}, public_base_url(), '... public URL prefix: the base URL (no mount)';
    my $offers = db_rows('SELECT * FROM slot_offers WHERE slot_opening_id = ?', $slot->{id});
    is_deeply [ map { "$_->{customer_id} $_->{status}" } @$offers ], ["$wait->{id} sent"],
        '... the first offer sent at once, to the waitlisted customer';
    my $sms = twilio_messages();
    is scalar(@$sms), 1, '... one SMS';
    is $sms->[0]{form}{To}, '+15557775001', '... to Walt';
    like $sms->[0]{form}{Body}, qr/Reply YES/, '... the offer';
    is $sms->[0]{form}{StatusCallback}, public_base_url() . '/api/twilio/status', '... StatusCallback at /api';

    # The page it redirects to.
    my $p = page(owner1 => '/app/appointments');
    my $pt = tree($p);
    ok !$pt->look_down(_tag => 'form', action => "/app/appointments/$ap->{id}/cancel"),
        'the list no longer offers to cancel it';
    is_deeply [ map { $_->attr('href') } links($pt, qr/^Details$/) ], ["/app/slot-openings/$slot->{id}"],
        '... and lists the new slot opening';
    is badge(($pt->look_down(_tag => 'table', class => 'slots')->look_down(_tag => 'td'))[1]), 'open', '... open';
    $pt->delete;

    # The same as the API: cancel the next one through the API and compare.
    twilio_reset();
    my $api = api(POST => "/api/appointments/$appt[1]{id}/cancel");
    is $api->status, 200, 'the API cancels the next one' or diag $api->dump;
    my $s2 = db_row('SELECT * FROM slot_openings WHERE source_appointment_id = ?', $appt[1]{id});
    is_deeply [ map { { status => $_->{status}, prefix => $_->{public_url_prefix} } } $slot, $s2 ],
        [ map { { status => 'open', prefix => public_base_url() } } 1 .. 2 ], '... the same kind of slot opening';
    is_deeply [ map { $_->{form}{To} } @{ twilio_messages() } ], ['+15557775001'], '... and the same first offer';

    # Again: already cancelled, still 303, nothing new.
    twilio_reset();
    $r = post_form(owner1 => "/app/appointments/$ap->{id}/cancel", { csrf => $csrf });
    is $r->status, 303, 'cancelling it again: 303' or diag $r->dump;
    is db_count('slot_openings WHERE source_appointment_id = ?', $ap->{id}), 1, '... still one slot opening';
    is db_count('slot_offers WHERE slot_opening_id = ?', $slot->{id}), 1, '... still one offer';
    is scalar @{ twilio_messages() }, 0, '... no SMS';

    # owner2's token does not work on owner1's next appointment either.
    $r = post_form(owner1 => "/app/appointments/$appt[2]{id}/cancel", { csrf => $csrf2 });
    is $r->status, 403, 'owner2\'s token on owner1\'s appointment: 403';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[2]{id})->{status}, 'booked', '... still booked';
}

# --- mounted ----------------------------------------------------------------------------------
{
    twilio_reset();
    my $t = tree(page(owner1 => '/mounted/app/appointments'));
    my $form = $t->look_down(_tag => 'form', action => "/mounted/app/appointments/$appt[3]{id}/cancel");
    ok $form, 'the mounted list posts to /mounted/app/appointments/{id}/cancel';
    my $tok = $form && $form->look_down(name => 'csrf')->attr('value');
    $t->delete;
    my $r = post_form(owner1 => "/mounted/app/appointments/$appt[3]{id}/cancel", { csrf => $tok });
    is $r->status, 303, 'mounted cancel: 303' or diag $r->dump;
    is $r->header('Location'), '/mounted/app/appointments', '... back to /mounted/app/appointments';
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[3]{id})->{status}, 'cancelled', '... cancelled';
    my $s = db_row('SELECT * FROM slot_openings WHERE source_appointment_id = ?', $appt[3]{id});
    is $s && $s->{public_url_prefix}, public_base_url() . '/mounted', '... the slot opening remembers the mount';
    my $sms = twilio_messages();
    is scalar(@$sms), 1, '... the first offer went out';
    is $sms->[0]{form}{StatusCallback}, public_base_url() . '/mounted/api/twilio/status',
        '... with its StatusCallback under /mounted';

    $r = post_form(owner1 => "/mounted/app/appointments/$appt[4]{id}/cancel", { csrf => $wrong });
    is $r->status, 403, 'mounted, a wrong token: 403' or diag $r->dump;
    is db_row('SELECT status FROM appointments WHERE id = ?', $appt[4]{id})->{status}, 'booked', '... still booked';
}

# helpers (each dashboard test carries its own)

sub auth { return +{ Authorization => 'Basic ' . MIME::Base64::encode_base64("$_[0]:secret", '') } }

# GET as a dashboard user (undef: no credentials); ->{html} is the decoded body.
sub page {
    my ($user, $path, %o) = @_;
    my $r = api(GET => $path, undef, no_secret => 1, headers => (defined $user ? auth($user) : {}), %o);
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

sub tree {
    my $t = HTML::TreeBuilder->new;
    $t->ignore_unknown(0);
    $t->parse($_[0]{html});
    $t->eof;
    return $t;
}

sub text {
    my ($e) = @_;
    return undef unless $e;
    my $s = $e->as_text;
    $s =~ s/\s+/ /g;
    $s =~ s/^ | $//g;
    return $s;
}

sub badge {
    my ($e) = @_;
    my $b = $e && $e->look_down(_tag => 'span', class => qr/\bbadge\b/);
    return undef unless $b;
    my ($kind) = ($b->attr('class') =~ /\bbadge-(\S+)/);
    return $kind eq $b->as_text ? $kind : "class $kind, text " . $b->as_text;
}

# The body rows of a table: arrayrefs of <td> elements.
sub rows {
    my ($table) = @_;
    return () unless $table;
    my $body = $table->look_down(_tag => 'tbody') || $table;
    return map { [ $_->look_down(_tag => 'td') ] } grep { $_->look_down(_tag => 'td') } $body->look_down(_tag => 'tr');
}

# The offers table of a slot-opening page (the one without a class).
sub offers_table { $_[0]->look_down(_tag => 'table', sub { !defined $_[0]->attr('class') }) }

sub links {
    my ($t, $re) = @_;
    return grep { text($_) =~ $re } $t->look_down(_tag => 'a');
}

sub figures {
    my ($t) = @_;
    # (HTML::TreeBuilder does not keep <div> inside <dl>: pair the dt and dd.)
    my @dt = $t->look_down(_tag => 'dt');
    my @dd = $t->look_down(_tag => 'dd');
    return { map { text($dt[$_]) => text($dd[$_]) } 0 .. $#dt };
}

# The <table class="fields"> of a detail page: label => {text, badge, links}.
sub fields {
    my ($t) = @_;
    my $table = $t->look_down(_tag => 'table', class => 'fields') or return ();
    return map {
        my $td = $_->look_down(_tag => 'td');
        text($_->look_down(_tag => 'th')) => {
            text  => text($td),
            badge => badge($td),
            links => [ map { [ text($_), $_->attr('href') ] } $td->look_down(_tag => 'a') ],
        }
    } $table->look_down(_tag => 'tr');
}

sub local_time {
    my ($epoch, $fmt) = @_;
    local $ENV{TZ} = $TZ;
    POSIX::tzset();
    my $s = strftime($fmt, localtime $epoch);
    POSIX::tzset();
    return $s;
}

sub iso_at { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $_[0]) }

sub grant {
    my ($shop_id, $user) = @_;
    my $r = api(POST => "/api/shops/$shop_id/users", { username => $user });
    die "grant $user: " . $r->dump unless $r->status == 201;
}

# POST a form as a dashboard user.
sub post_form {
    my ($user, $path, $form) = @_;
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s };
    my $r = api(POST => $path, undef, no_secret => 1,
        raw => join('&', map { $enc->($_) . '=' . $enc->($form->{$_}) } sort keys %$form),
        content_type => 'application/x-www-form-urlencoded', headers => (defined $user ? auth($user) : {}));
    $r->{html} = Encode::decode('UTF-8', $r->body // '');
    return $r;
}

# Every URL a page points at: href, action, src.
sub urls {
    my ($t) = @_;
    return map { my $e = $_; grep { defined } map { $e->attr($_) } qw(href action src) }
        $t->look_down(sub { defined $_[0]->attr('href') || defined $_[0]->attr('action') || defined $_[0]->attr('src') });
}

sub cancel_api {
    my ($id) = @_;
    my $r = api(POST => "/api/appointments/$id/cancel");
    die 'cancel failed: ' . $r->dump unless $r->status == 200;
    return db_row('SELECT id FROM slot_openings WHERE source_appointment_id = ?', $id)->{id};
}

# A signed inbound SMS (Twilio's webhook) from $from to the shop's number $to.
my $sid_seq;
sub sms_yes {
    my ($from, $to, $body) = @_;
    my $sid = sprintf 'SM%08x%024x', $$, ++$sid_seq;
    my %p = (MessageSid => $sid, SmsMessageSid => $sid, AccountSid => twilio_account_sid(), From => $from,
        To => $to, Body => $body // 'YES', NumMedia => '0', ApiVersion => '2010-04-01');
    my $path = '/api/twilio/inbound';
    my $enc = sub { (my $s = shift) =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s };
    return api(POST => $path, undef, no_secret => 1,
        raw => join('&', map { $enc->($_) . '=' . $enc->($p{$_}) } sort keys %p),
        content_type => 'application/x-www-form-urlencoded',
        headers => { 'X-Twilio-Signature' => twilio_signature(public_base_url() . $path, \%p) });
}
