package extract

// Word lists for person-name detection. They are data, not rules: every list
// is a whitespace-separated set of lowercase words, compared after accent
// folding, so "Tomás" and "Tomas" meet.

// givenNames holds common given names from many cultures.
const givenNames = `
aaron abby abdul abdullah abe abel abigail abraham ada adam adaeze adam adele adeline adil aditi aditya adrian adriana adrienne agnes ahmad ahmed aidan aiden aiko aisha akira akosua al alan alana albert alberto alec alejandra alejandro aleksandr alex alexa alexander alexandra alexis alfie alfonso alfred ali alice alicia alina alison alistair allan allison alma alvaro amanda amara amelia amina amir amit amos amy ana anais anand anastasia anders andre andrea andreas andrei andres andrew andy aneesh angela angelica angelo angie anika anita anja ann anna annabel anne anneke annie anthony antoine anton antonio anya aoife april arash archie ari ariana ariel arjun arlo arnav arnold aroha arthur arturo arun asha ashley ashok astrid aubrey audrey august aurora austin ava avery axel ayaan ayesha ayo ayumi
babajide barbara barry bart beatrice beatriz beau becca becky bee bella ben benedict benjamin bennett bernard bernie beth bethany betsy betty beverly bex bianca bill billy blake bo bob bobby bonnie boris brad bradley brandon brenda brendan brett brian bridget brittany brooke bruce bruno bryan bryce burak
caitlin caleb callum calvin cam camila cameron camille candice cara carina carl carla carlos carmen carol caroline carolyn carrie carson casey cassie catalina catherine cathy cecilia cedric celeste celia chandra chantal charles charlie charlotte chen cheng cher cheryl chiamaka chidi chinedu chioma chloe chris christian christina christine christopher chuck cindy claire clara clarence clark claudia clay clement cleo cliff clint clyde cody colby cole colin connor conor constance cora corey cormac courtney craig cristina curtis cynthia
dagny daisuke dale dalia damian damon dan dana daniel daniela danielle danny dante daphne dara darius darnell darren dave david dawn dean deb debbie deborah declan dee deepak deepika deirdre delia dennis denise derek desmond dev devon dexter diana diane diego dilnoza dimitri dina dinesh dmitri dolores dominic don donna dora doris dorothy doug douglas drew duncan dustin dylan
ed eddie edgar edith edmund eduardo edward edwin eileen elaine eleanor elena eli elias elijah elin elise eliza elizabeth ella ellen ellie elliot elsa elsie emeka emil emilia emilio emily emma emmanuel enrique enzo eric erica erik erin ernest esme esperanza esteban esther ethan eugene eva evan evelyn ezra
fabian fahad faisal farah farida farrah fatima fatma federico felipe felix fernando filip finley finn fiona florian floyd frances francesca francis francisco frank frankie franz fred freddie frederick freya frida fumiko
gabe gabriel gabriela gabrielle gail gareth garrett gary gavin gemma gene geoff geoffrey george georgia gerald gerard gert gianna gideon gil gilbert gina ginny giorgio giovanni giulia giuseppe gloria gordon grace graham grant greg gregory greta griffin guadalupe guillermo gunnar gus gustavo guy gwen
hadley hailey hakim hal hamid hamza hana hank hannah hans harold harriet harry harvey hassan hayden hazel heather hector heidi helen helena henrik henry herbert hiroshi holly hollis hope howard hugh hugo hunter hyun
ian ibrahim ida ifeoma ignacio igor ikaika ilya imani imogen ines inga ingrid ira irene iris isaac isabel isabella isabelle isaiah ishaan isla ismail ivan ivy
jack jackie jackson jacob jacqueline jade jae jae-won jaime jake james jamie jan jane janet janice jared jasmine jason javier jay jayden jean jeanette jeff jeffrey jen jenna jennifer jenny jeremy jerome jerry jesse jessica jessie jesus jill jim jimmy jin jo joan joanna joao jocelyn jodie joe joel joey johan johanna john johnny jon jonah jonas jonathan jordan jorge jose josef joseph josephine josh joshua josie joy joyce juan juanita judith judy jules julia julian juliana julie juliet june junior justin
kai kaito kamal karen kari karim karin karl kasia kate katherine kathleen kathy katie katrina kavya kay kayla keiko keith kelly kelsey ken kendall kendra kenji kenneth kent kerry kevin khadija khalid kim kimberly kirsten kit kofi kojo kristen kristin kumar kurt kwame kyle
lachlan lana lance lara larry lars laura lauren laurence lawrence layla leah lee leila lena leo leon leona leonard leslie lewis liam lila lillian lily lina linda lindsay lindsey lionel lisa liz liza lizzie logan lois lola lorenzo lori lorna louis louise luca lucas lucia lucy luis luisa luka lukas luke luna lydia lynn
mabel mackenzie maddie madeline madison mae maeve magda maggie magnus mahmoud maisie malik mandy manuel mara marc marcel marco marcus margaret margo maria mariam marian marie marina mario marisol marius marjorie mark marta martha martin marty mary maryam mason mateo mathias matilda matt matteo matthew maureen maurice max maxine maya megan mehmet mei mel melanie melissa mercy meredith mia micah michael michelle miguel mike mikhail mila milan miles millie min min-jun mina miriam misaki mohamed mohammed moira molly monica morgan moses muhammad murat myra
nadia nadine nancy naomi natalia natalie natasha nate nathan nathaniel neal ned neha neil nell nelson nia nico nicola nicolas nicole niamh nigel nikhil nikita nina nisha noah noel nora norman nour nuno
obi octavia olga oliver olivia ollie olu omar oren orla oscar osman otis owen
pablo paige pam pamela paolo parker pat patricia patrick patty paul paula pauline pavel pearl pedro peggy penelope penny percy pete peter petra phil philip phoebe pierre pilar piotr polly poppy preeti priscilla priya quentin quinn
rachel radhika rafael rafa rahul raj rajesh ralph ramon rana randy raphael rashid raul ravi ray raymond rebecca reggie reid rena renee rhys ricardo rich richard rick ricky riley rita rob robert roberta roberto robin rocco rod rodrigo roger rohan roland roman ron ronald ronan rory rosa rosalind rose rosie ross rowan roxanne roy ruby rudy rufus rupert russell ruth ryan ryo
sabrina sacha sadie sahil saira sakura sal sally salma sam samantha sami samir samuel sandeep sandra sandy sanjay santiago sara sarah sasha saul scott sean sebastian selena selma seo-yeon serena sergei sergio seth shane shanice shannon sharon shauna shawn sheila shelby shirley shreya sian sid sienna silas simon simone siobhan sofia sonia sophia sophie soren stacy stan stanley stefan stella stephanie stephen steve steven stuart sue sunita susan suzanne sven sylvia
tamara tamsin tanya tara ted teddy teresa terry tess tessa thabo thea theo theodore theresa thomas tim timothy tina tobias toby todd tom tomas tomasz tommy toni tony tori tracy travis trevor trinity tristan troy tyler
uma ursula usha valentina valerie vanessa varun vera veronica vicky victor victoria vijay vikram vince vincent viola violet vivian vivek wade walt walter wanda warren wayne wei wen wendy wes wesley will william willow wilson winston wren xavier xin yara yasmin yiannis yosef yuki yusuf yvonne zac zach zachary zainab zara zoe zora
`

// moreGivenNames extends givenNames with further names from African, Arabic,
// East and South Asian, Slavic, Nordic, Latin American and Pacific cultures.
const moreGivenNames = `
abena adaora adebola ade adwoa afia akua ama amaka ayodele babatunde bisi chidinma chika chinonso chukwuemeka dayo ebere efua ekow emeka folake funmi ifeanyi kemi kunle lindiwe lerato musa ngozi nkechi nnamdi obinna olamide oluwaseun segun sipho tendai thandiwe tunde uche yaw yemi zodwa zanele
aaliyah abbas adnan ahmet aliyah amal anwar ayman aziz bilal dalia fadi farid farouk habib hadi hala hana hanan hussein imran jamal jamila karima khalil laila layla leyla lina mahmoud majid malak mariam mona mustafa nabil nadia naveed noor omar rami rania reem sami samira tariq walid yasmin yousef zaid zeynep zaynab
aarav abhishek ajay akash amitabh anil anjali ankit anusha arvind bhavna deepa divya gaurav geeta harish indira jaya kiran krishna lakshmi madhu manish meena mohan nandini neel nikita pooja prakash pranav priyanka rajiv ramesh ranjit ravi rekha rishi rohit sachin sangeeta sanjana santosh sarita shanti shiva shweta siddharth suresh swati tanvi uday vidya vikas vinay yash
ai akemi aya chie daiki emi haruki haruto hina hiro hitomi kazuki keiko kenta kumiko mai makoto mariko masato mei miho mika minako naoko natsuki noriko rei ren riku rina sayuri shota sora takeshi taro tomoko yoko yuka yumi yuna yuto
bao chen chun fang feng hao hong hui jia jian jing jun lan lei li lian ling mei ming ning qing rui shu tao ting wen xia xiu yan yi ying yong yu yue zhen zhi
ji-woo ji-hoon ji-yeon min-ji seo-jun do-yoon ha-eun hyun-woo jun-ho soo-jin ye-jin eun-ji sung-min
anh bich duc hieu hoa huong khanh lan linh minh ngoc phuong quang thanh thu trang tuan vy
agata aleksander aleksandra alina anatoly andrzej bartek bogdan dariusz dasha dominika ewa galina grzegorz irina jakub janusz jarek katarzyna kasia krzysztof lech lena lyudmila maciej marek marta milena mirek natalia nikolai oksana olena pavel piotr radek sasha stanislav svetlana tatiana tomasz vadim vasily vlad wojciech yuri zofia zuzana
aksel anneli birgit bjorn britta dagmar einar elin erik frida freja gudrun hakon ingrid ingvar jens kari karin kjell lars leif liv magnus mette nils olaf ole per ragnar rune sigrid solveig stig sune svea tove torsten ulf ulla vidar
alejandro alma amparo ana beatriz camilo carmen catalina dario diego dolores elena emilio esperanza fernanda gabriela guadalupe ignacio inés jacinto javier joaquin lucia luz marisol mateo mercedes nicolas paloma pilar ramiro rocio rosario santiago ximena yolanda
aroha ikaika kai keanu leilani malia manu moana tane wiremu
bea bianca bridie ciara cillian eamon fergus finola orla oisin padraig roisin seamus sinead aled bryn cerys dafydd eira gethin gwyn idris rhian rhodri sion tegan
`

// surnames holds common family names from many cultures; they count as names
// after a title ("Doctor Walsh") and in possessive or family context ("the
// Kowalski brothers").
const surnames = `
abadi adeyemi adebayo agarwal ahmed akhtar alvarez anderson andersson bailey baker banerjee barnes becker bell bennett berg bianchi brennan brooks brown bruno burke butler campbell carter castellano castillo chan chang chen choi clarke cohen collins cooper costa cruz cunningham dasilva davies davis delgado diaz dubois dumont edwards evans fernandez ferrari fischer fitzgerald flores fontaine foster garcia gill goldberg gomez gonzalez gordon gray green gupta gutierrez hall halvorsen hansen harris hayes hernandez hill hoffmann horvath huang hughes ibrahim ivanov jackson jansen jensen johansson johnson jones kaplan kapoor katz kaur keller kelly kennedy khan kim king kovac kowalski kumar larsen lee levy lewis li lindqvist lindgren liu lopez lundgren martin martinez mehta meyer miller mitchell moore morales moreau morgan muller murphy murray nakamura nguyen nielsen novak nowak obrien oconnor okafor okonkwo olsen olson ortiz osei owusu park patel pereira perez petrov phillips popescu price quinn ramirez ramos reddy reyes richter rivera roberts robinson rodriguez romano rossi ruiz russo saito sanchez santos sato schmidt schneider schulz scott shah sharma silva singh smith sokolov suzuki tanaka taylor thomas thompson torres tran turner walker walsh wang ward watanabe weber white williams wilson wong wright wu yamamoto yang young zhang zhao
`

// ambiguousNames are given names that are also everyday English words or
// calendar words. In lowercase text they are never taken as names, and a
// capitalized one at the start of a sentence needs person context.
const ambiguousNames = `
al april august autumn bill bo bob brook cam carol chase chuck clay cliff dale dawn dean dee dev don drew faith frank gene ginger grace grant guy hazel heather holly hope hunter iris ivy jack jade jan jay jean joy june kit lance lily mark mason max may mercy miles min pat pearl penny poppy ray reid rich rob robin rod roman rose ruby sage sandy skip sky sue summer tom violet wade will willow wren ai per rune lan li ling ming hong tao ole liv jun mai ren sora kai manu ada
`

// titles precede a name: "Doctor Lindqvist", "Aunt Dolores", "Mr. Okafor".
const titles = `
mr mrs ms miss mx dr doctor prof professor aunt auntie uncle nana nan grandma grandpa granny gran grandmother grandfather coach judge officer detective sister brother father pastor rabbi sir madam dame lady lord captain
`

// relationNouns introduce a name after them: "my nephew Owen", "my roommate
// Bex".
const relationNouns = `
friend friends roommate brother sister nephew niece cousin son daughter wife husband partner boyfriend girlfriend fiance fiancee boss manager colleague coworker co-worker neighbor neighbour uncle aunt grandpa grandma nana advisor adviser mentor teacher student client customer intern assistant buddy pal mate kid kids baby toddler twin stepson stepdaughter stepmom stepdad mom dad mother father landlord tenant doctor nurse therapist lawyer contact supervisor lead engineer designer
`

// kinship words are relations used as a name ("Mom said"); they are not
// person names.
const kinship = `
mom mum mommy mummy momma mama ma dad daddy papa pa pop grandma grandpa granny gramps grandmother grandfather nana nan nanna gran grampa auntie aunt uncle sis bro babe honey sweetie
`

// personVerbsAfter follow a person as subject: "Leo asked", "Marcus thinks".
const personVerbsAfter = `
said says say asked asks told tells thinks thought wants wanted agreed agrees called calls texted texts emailed emails mentioned mentions gave gives came comes went goes knows knew loves loved likes liked hates felt feels laughed laughs cried smiled walked ran rode drove played sang helped helps wrote writes sent sends brought brings made makes took takes got gets found finds built builds owes owed pulled showed shows looked looks seemed seems needs needed wants handled handles flagged flags booked booked moved moves lives lived teaches taught works worked studies studied reviewed reviews suggested suggests pointed explained decided decides keeps kept fell bought picked joined joins left leaves stopped started starts finished finishes noticed answered replied
`

// calendarWords are months, days and holidays.
const calendarWords = `
january february march april may june july august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
monday tuesday wednesday thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays mon tue tues wed thu thur thurs fri sat sun
christmas easter thanksgiving halloween hanukkah passover diwali eid ramadan kwanzaa new year years eve valentine valentines memorial labor independence juneteenth
`

// nonNames are capitalized words that are neither people nor places:
// products, languages, nationalities, organizations and sentence words.
const nonNames = `
i im i'm ive i've id i'd ill i'll you he she we they it me him her us them my your his our their its everyone everybody someone somebody nobody people who what everything something nothing okay ok oh um uh so and but the a an then well yes no yeah hey hi hello alright anyway also just like maybe um idea update notes note memo log plan action items
slack zoom teams outlook gmail google apple microsoft amazon facebook meta instagram whatsapp telegram signal discord reddit twitter youtube netflix spotify uber lyft airbnb tesla ikea costco walmart target starbucks
python go golang rust java javascript typescript ruby swift kotlin php perl scala elixir haskell react svelte vue angular node django flask fastapi rails laravel spring flutter supabase firebase postgres postgresql postgis mysql sqlite redis mongo mongodb kafka docker kubernetes terraform aws azure gcp linux windows mac macos ios android iphone ipad icloud github gitlab bitbucket jira confluence notion trello figma excel word powerpoint keynote sheets docs chrome firefox safari edge mapbox waze whisper openai chatgpt claude llama arduino raspberry pi jenkins heroku vercel netlify stripe paypal venmo zelle shopify wordpress kubectl bash linux ubuntu debian fedora
english spanish french german italian chinese japanese korean indian mexican thai vietnamese greek turkish russian polish dutch swedish norwegian danish irish scottish welsh british american canadian australian african european asian latin arabic hebrew hindi portuguese brazilian
bunsen edison western eastern northern southern north south east west
upstairs downstairs nearby overseas abroad
today tonight yesterday tomorrow morning afternoon evening weekend lunch dinner breakfast
finance legal hr marketing sales support accounting payroll procurement engineering ops operations admin reception security management facilities
`

// orgSuffixes end a capitalized run that names an organization or a place:
// "Hartley Mills", "Redgate Properties", "Willow Lane".
const orgSuffixes = `
mills mill inc corp corporation co company llc ltd plc properties property group partners labs lab industries systems solutions services foods farms farm bank bakery cafe restaurant bar grill diner pub hotel motel inn hospital clinic school academy college university institute church chapel temple mosque synagogue market supermarket store shop mall center centre gym library museum theater theatre park lake lane road rd street st avenue ave boulevard blvd drive way court ct place square plaza bridge station airport peak mountain mountains hill hills valley river creek beach bay island islands county city town village heights falls woods forest trail league club team association foundation society council department agency ministry airlines motors hardware supply supplies pharmacy tree
`

// placePrefixes start a capitalized run that names a place: "Route Nine",
// "Lake Tahoe", "Mount Hood".
const placePrefixes = `
route highway interstate lake mount mt fort port saint st san santa los las new north south east west upper lower county
`

// knownPlaces are countries, regions and large cities.
const knownPlaces = `
afghanistan albania algeria argentina armenia australia austria bangladesh belgium bolivia bosnia brazil bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus czechia denmark ecuador egypt england estonia ethiopia finland france germany ghana greece guatemala haiti honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan kenya korea kosovo laos latvia lebanon libya lithuania luxembourg madagascar malaysia mali malta mexico moldova mongolia morocco mozambique myanmar nepal netherlands holland nigeria norway pakistan panama paraguay peru philippines poland portugal qatar romania russia rwanda scotland senegal serbia singapore slovakia slovenia somalia spain sudan sweden switzerland syria taiwan tanzania thailand tunisia turkey uganda ukraine uruguay usa america uk britain venezuela vietnam wales yemen zambia zimbabwe europe asia africa antarctica
alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon pennsylvania tennessee texas utah vermont virginia washington wisconsin wyoming ontario quebec alberta manitoba bavaria catalonia tuscany provence
london paris berlin madrid rome milan lisbon dublin amsterdam brussels vienna prague warsaw budapest athens istanbul moscow stockholm oslo copenhagen helsinki zurich geneva munich hamburg barcelona seville naples venice florence edinburgh glasgow manchester liverpool bristol leeds cardiff belfast tokyo osaka kyoto seoul beijing shanghai hong kong taipei bangkok hanoi singapore jakarta manila delhi mumbai bangalore chennai kolkata karachi lahore dhaka dubai cairo lagos nairobi accra johannesburg capetown sydney melbourne brisbane perth auckland wellington toronto vancouver montreal ottawa calgary chicago boston seattle portland denver austin dallas houston phoenix atlanta miami orlando detroit philadelphia pittsburgh baltimore nashville memphis vegas angeles francisco diego york brooklyn manhattan queens bronx oakland sacramento minneapolis milwaukee cleveland cincinnati columbus indianapolis charlotte raleigh richmond tucson albuquerque anchorage honolulu lima bogota santiago quito caracas havana
`

// ambiguousPlaces are places that are also given names ("Jordan", "Austin",
// "Georgia"); context decides.
const ambiguousPlaces = `
jordan austin georgia charlotte sydney florence victoria madison dallas lincoln houston chelsea savannah phoenix virginia carolina israel paris kent devon
`

// theBeforeOK are nouns that keep "the X" a person: "the Castellano file",
// "the Kowalski brothers".
const theBeforeOK = `
brothers sisters family families twins kids boys girls file case account matter deal household wedding funeral estate
`
