# Every value on the dashboard is HTML-escaped: a shop name, customer names,
# an email, an offer's last error, a payment's error and flag and a
# PaymentIntent id full of markup appear only escaped (& < > " ' as entities),
# on every page they show up on, and read back as the literal text; query
# string values are never reflected unescaped.
use strict;
use warnings;
use utf8;

use Apache::Test qw(-withtestmore);
use Encode ();
use HTML::TreeBuilder ();
use MIME::Base64 ();
use POSIX qw(floor strftime);
use SlotRecovery::Test qw(:all);

plan tests => 81;
# (after plan: Apache::Test's plan sets up Test::More's handles anew)
binmode $_, ':encoding(UTF-8)' for Test::More->builder->output, Test::More->builder->failure_output,
    Test::More->builder->todo_output;

my $TZ = 'America/New_York';

my $SHOP   = q{<i>Tom & "Jerry's"</i> Salon};
my $SCRIPT = '<script>alert(1)</script>';
my $IMG    = q{"><img src=x onerror=alert(2)>};
my $TABLE  = q{</td></tr></table><h1 id="pwned">pwned</h1>};
my $EMAIL  = q{"<svg/onload=alert(3)>"@example.com};
my $ERROR  = q{<img src=x onerror=alert(4)> & 'quoted'};
my $PAYERR = '<script>alert(5)</script>';
my $FLAG   = '<b onmouseover=alert(6)>look</b>';
my $PI     = 'pi_<u>x</u>';

reset_all();

my $shop = make_shop(name => $SHOP, smsFrom => '+15005550301');
grant($shop->{id}, 'owner1');
my $day = floor(time / 86400) * 86400;
my $T1 = $day + 3 * 86400 + 15 * 3600;
my $T2 = $day + 4 * 86400 + 15 * 3600;

my $c_script = make_customer($shop->{id}, name => $SCRIPT, smsOptIn => json_false());
my $c_img = make_customer($shop->{id}, name => $IMG, phone => '+15557773001', email => $EMAIL,
    stripeCustomerId => 'cus_img', stripePaymentMethodId => 'pm_card_visa');
my $c_table = make_customer($shop->{id}, name => $TABLE, phone => '+15557773002');
db_do(q{UPDATE customers SET waitlist_joined_at = now() + interval '1 minute' WHERE id = ?}, $c_table->{id});
is db_row('SELECT email FROM customers WHERE id = ?', $c_img->{id})->{email}, $EMAIL, 'setup: the email is stored as sent';

my $a1 = make_appointment($shop->{id}, $c_script->{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 1800));
my $a2 = make_appointment($shop->{id}, $c_script->{id}, startsAt => iso_at($T2), endsAt => iso_at($T2 + 1800));
my $a3 = make_appointment($shop->{id}, $c_table->{id}, startsAt => iso_at($T1), endsAt => iso_at($T1 + 1800));

# S1: <img> customer says YES; S2: offered to the <img> customer again (free
# at T2), then that offer fails with an error full of markup and the
# </table> customer gets the next offer.
my $s1 = cancel_api($a1->{id});
is sms_yes('+15557773001', '+15005550301')->status, 200, 'setup: YES from the <img> customer';
my $booking = db_row('SELECT filled_by_appointment_id AS id FROM slot_openings WHERE id = ?', $s1)->{id};
ok $booking, 'setup: a recovered booking';
db_do('UPDATE payments SET last_error = ?, flagged_reason = ?, stripe_payment_intent_id = ? WHERE appointment_id = ?',
    $PAYERR, $FLAG, $PI, $booking);
my $s2 = cancel_api($a2->{id});
db_do(q{UPDATE slot_offers SET last_error = ?, attempts = 3 WHERE slot_opening_id = ?}, $ERROR, $s2);

my %pages = (
    'the list'                  => '/app/appointments',
    'the filtered list'         => '/app/appointments?status=filled',
    'the filled slot opening'   => "/app/slot-openings/$s1",
    'the open slot opening'     => "/app/slot-openings/$s2",
    'the recovered booking'     => "/app/appointments/$booking",
    'the cancelled appointment' => "/app/appointments/$a1->{id}",
    'an ordinary appointment'   => "/app/appointments/$a3->{id}",
    'a 404 page'                => '/app/appointments/987654',
);

# Which hostile values each page shows.
my %shows = (
    'the list'                  => [ $SHOP, $IMG, $TABLE ],
    'the filtered list'         => [ $SHOP ],
    'the filled slot opening'   => [ $SHOP, $SCRIPT, "View booking ($IMG)", $IMG ],
    'the open slot opening'     => [ $SHOP, $SCRIPT, $IMG, $ERROR ],
    'the recovered booking'     => [ $SHOP, $IMG, $EMAIL, $PAYERR, $FLAG, $PI ],
    'the cancelled appointment' => [ $SHOP, $SCRIPT ],
    'an ordinary appointment'   => [ $SHOP, $TABLE ],
    'a 404 page'                => [],
);

for my $name (sort keys %pages) {
    my $r = page(owner1 => $pages{$name});
    ok $r->status == ($name eq 'a 404 page' ? 404 : 200), "$name: " . $r->status or diag $r->dump;
    my $html = $r->{html};
    # The only markup is the page's own: no script, img, svg, i, b, u, h1 id=pwned.
    is_deeply [ $html =~ m{(<(?:script|img|svg|i|b|u)\b[^>]*>|<h1 id=)}gi ], [], "$name: no injected element";
    my $t = tree($r);
    is_deeply [ map { $_->tag } $t->look_down(sub { grep { /^on/i } $_[0]->all_external_attr_names }) ], [],
        "$name: no element with an on... attribute";
    my @texts = all_texts($t);
    for my $value (@{ $shows{$name} }) {
        ok((grep { index($_, $value) >= 0 } @texts), "$name: shows " . short($value) . ' as text')
            or diag explain \@texts;
    }
}

# The exact escaping.
{
    my $r = page(owner1 => '/app/appointments');
    like $r->{html}, qr{<span class="shop">&lt;i&gt;Tom &amp; &#34;Jerry&#39;s&#34;&lt;/i&gt; Salon</span>},
        'shop name: & < > " \' as &amp; &lt; &gt; &#34; &#39;';
    like $r->{html}, qr{<td>&#34;&gt;&lt;img src=x onerror=alert\(2\)&gt;</td>}, 'customer name in a table cell';
    like $r->{html}, qr{<td>&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;h1 id=&#34;pwned&#34;&gt;pwned&lt;/h1&gt;</td>},
        'a name that closes the table stays inside its cell';
    like $r->{html}, qr{<title>Appointments &middot; Slot Recovery</title>}, 'the title';
    my $t = tree($r);
    is scalar(() = $t->look_down(_tag => 'table')), 2, 'still exactly two tables on the list page';
    $t->delete;

    $r = page(owner1 => "/app/slot-openings/$s1");
    like $r->{html}, qr{>#\Q$a1->{id}\E &lt;script&gt;alert\(1\)&lt;/script&gt;</a>},
        'the cancelled appointment\'s customer, escaped inside its link';
    like $r->{html}, qr{>View booking \(&#34;&gt;&lt;img src=x onerror=alert\(2\)&gt;\)</a>},
        'the booked customer, escaped inside "View booking (...)"';

    $r = page(owner1 => "/app/slot-openings/$s2");
    like $r->{html}, qr{<td>&lt;img src=x onerror=alert\(4\)&gt; &amp; &#39;quoted&#39;</td>}, 'the offer\'s last error';

    $r = page(owner1 => "/app/appointments/$booking");
    like $r->{html}, qr{<td>&#34;&lt;svg/onload=alert\(3\)&gt;&#34;\@example\.com</td>}, 'the email';
    like $r->{html}, qr{<td>&lt;script&gt;alert\(5\)&lt;/script&gt;</td>}, 'the payment error';
    like $r->{html}, qr{<td>&lt;b onmouseover=alert\(6\)&gt;look&lt;/b&gt;</td>}, 'the payment flag';
    like $r->{html}, qr{<td>pi_&lt;u&gt;x&lt;/u&gt;</td>}, 'the PaymentIntent id';
}

# Nothing from the query string or the path comes back unescaped.
{
    for my $q ('status=%3Cscript%3Ealert(7)%3C/script%3E', 'from=%22%3E%3Cscript%3Ealert(8)%3C/script%3E',
               'to=2025-01-01%3Cscript%3E', 'page=%3Cscript%3E') {
        my $r = page(owner1 => "/app/appointments?$q");
        is $r->status, 400, "?$q: 400" or diag $r->dump;
        unlike $r->{html}, qr/<script|alert\(/i, '... not reflected';
        $r = page(owner1 => "/app/slot-openings.csv?$q");
        is $r->status, 400, "CSV ?$q: 400" or diag $r->dump;
        unlike $r->{html}, qr/<script|alert\(/i, '... not reflected';
    }
    my $r = page(owner1 => '/app/appointments/%3Cscript%3Ealert(9)%3C%2Fscript%3E');
    is $r->status, 404, 'a path with markup: 404' or diag $r->dump;
    unlike $r->body, qr/<script|alert\(/i, '... not reflected';

    # A valid date is echoed into the form, as a value.
    $r = page(owner1 => '/app/appointments?from=2030-01-02&to=2030-01-03&status=open');
    like $r->{html}, qr{<input type="date" name="from" value="2030-01-02">}, 'a valid "from" is kept in the form';
    like $r->{html}, qr{<option selected>open</option>}, '... and the status';
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

# Every text node of a page, and every attribute value, as the browser reads it.
sub all_texts {
    my ($t) = @_;
    my @out;
    $t->traverse(sub {
        my ($node, $start) = @_;
        if (!ref $node) { push @out, $node; return 1 }
        push @out, text($node) if $start;
        return 1;
    });
    $t->delete;
    return @out;
}

sub short { my $s = shift; length $s > 30 ? substr($s, 0, 27) . '...' : $s }

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
